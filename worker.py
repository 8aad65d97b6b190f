"""RQ worker entry point: `python worker.py [--burst] [QUEUE ...]`.

With no queue named, a worker listens to every queue by urgency (push, webhooks, sync,
maintenance: webapp.queue.QUEUES), so even one worker takes a waiting push before the next
sync slice. Name queues to dedicate workers, e.g. `python worker.py push webhooks`.

The app is created once before forking (imports and mappers are paid once); every job
runs inside an application context, and the forked work horse gets a fresh database
connection pool (pooled connections must never cross a fork). An order push — short, bounded
by its job timeout, exactly-once through its row's claim — runs in the worker process itself
(IN_PROCESS_JOBS): no fork, and the SQL it compiled stays compiled for the next push instead of
dying with a work horse (bench/README.md: starved_push). Every other job gets a work horse.

Stopping: SIGTERM is a warm shutdown — no new job is taken, a push in hand finishes and a sync
slice ends at its next checkpoint (its next slice waits in the queue for any worker); then the
worker exits. A second SIGTERM (or SIGINT) is a cold shutdown: the job is killed and recovered
from the database (a push's lease expires, a run resumes from its last checkpoint). Never
SIGKILL a worker that can be stopped: its jobs are only recovered after their lease."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import time

from redis.exceptions import RedisError
from rq import Worker
from rq.worker import WorkerStatus
from sqlalchemy.orm import configure_mappers

from webapp import create_app
from webapp.embedded.jobs import push_order_job
from webapp.extensions import db
from webapp.precise_schedule import PreciseScheduler
from webapp.providers.registry import all_providers
from webapp.queue import MAINTENANCE, QUEUES, get_redis

app = create_app()

# Jobs run in the worker process, without a work horse. A cold stop (second SIGTERM) ends the
# job where it is, like a killed horse: the push's row stays under its lease and is recovered.
IN_PROCESS_JOBS = frozenset({push_order_job.func_path})


class HubWorker(Worker):
    keep_maintenance_chain = False

    def run_maintenance_tasks(self):
        """RQ housekeeping (every RQ_MAINTENANCE_INTERVAL s): re-acquire the scheduler lock if its
        holder died, clean registries — and restart our maintenance chain if it was lost (Redis
        restarted or flushed), so stale pushes are still recovered without a worker restart."""
        super().run_maintenance_tasks()
        if self.keep_maintenance_chain:
            from webapp.embedded.maintenance import ensure_scheduled

            with app.app_context():
                ensure_scheduled(self.connection)

    def execute_job(self, job, queue):
        """A job of IN_PROCESS_JOBS runs here, as RQ's SimpleWorker runs every job; the others
        in a forked work horse."""
        if job.func_name not in IN_PROCESS_JOBS:
            return super().execute_job(job, queue)
        self.prepare_execution(job)
        self.perform_job(job, queue)
        self.set_state(WorkerStatus.IDLE)

    def _start_scheduler(self, burst=False, logging_level="INFO", date_format=None, log_format=None):
        """RQ's scheduler start (rq.worker.base), with the scheduler that releases delayed jobs to
        the tenth of a second (webapp/precise_schedule.py): a push rescheduled for its rate-limit
        turn comes back on time instead of up to a second early or late."""
        from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT

        self.scheduler = PreciseScheduler(
            self.queues, connection=self.connection, logging_level=logging_level or self.log.level,
            date_format=date_format or DEFAULT_LOGGING_DATE_FORMAT, log_format=log_format or DEFAULT_LOGGING_FORMAT,
            serializer=self.serializer, poll_interval=app.config["RQ_SCHEDULER_INTERVAL"])
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return
        if burst:
            try:
                self.scheduler.register_birth()
                self.scheduler.enqueue_scheduled_jobs()
            finally:
                self.scheduler.release_locks()
                self.scheduler.register_death()
        else:
            self.scheduler.start()

    def get_heartbeat_ttl(self, job):
        """No horse monitor beats while an in-process job runs: the worker's key must outlive
        the job's timeout (as in SimpleWorker)."""
        if job.func_name in IN_PROCESS_JOBS and job.timeout and job.timeout > 0:
            return int(job.timeout) + 60
        return super().get_heartbeat_ttl(job)

    def main_work_horse(self, job, queue):  # runs in the forked child
        with app.app_context():
            db.engine.dispose(close=False)
        return super().main_work_horse(job, queue)

    def setup_work_horse_signals(self):
        """In the horse, SIGTERM (forwarded by its worker, or sent to every process by a
        process manager) does not kill the job: a sync slice ends at its next checkpoint and
        a push finishes. A cold shutdown still ends the horse (RQ sends SIGKILL)."""
        super().setup_work_horse_signals()
        signal.signal(signal.SIGTERM, _horse_stop)

    def handle_warm_shutdown_request(self):
        """First SIGTERM: stop taking jobs, and tell the running job to reach a checkpoint
        soon (RQ itself would wait for a whole slice). A second SIGTERM is RQ's cold shutdown."""
        super().handle_warm_shutdown_request()
        if self.horse_pid:
            try:
                os.kill(self.horse_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def perform_job(self, job, queue):
        with app.app_context():
            try:
                return super().perform_job(job, queue)
            finally:
                db.session.remove()


def _horse_stop(signum, frame):
    from webapp.queue import request_stop

    request_stop()
    logging.getLogger("worker").info("stop requested: the current job ends at its next checkpoint")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Embedded Services RQ worker")
    parser.add_argument("--burst", action="store_true", help="run queued jobs, then exit")
    parser.add_argument("queues", nargs="*", metavar="QUEUE",
                        help=f"queues to listen to, in this order (default: all — {' '.join(QUEUES)})")
    parser.add_argument("--no-scheduler", action="store_true")
    args = parser.parse_args(argv)
    queues = [name for arg in args.queues for name in arg.split(",") if name] or list(QUEUES)
    unknown = sorted(set(queues) - set(QUEUES))
    if unknown:
        parser.error(f"unknown queue(s) {', '.join(unknown)}; queues are: {' '.join(QUEUES)}")
    # Only a worker that runs maintenance jobs (and schedules that queue) keeps their chain
    # alive; a dedicated `push` worker starting one would pile up jobs nobody takes.
    keeps_chain = not args.burst and not args.no_scheduler and MAINTENANCE in queues
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    with app.app_context():
        configure_mappers()
        all_providers()  # provider modules imported once here, not in every forked job
        from webapp.embedded.warmup import warm_up

        warm_up()  # SQL compiled here is inherited by every forked job
        connection = get_redis()
        _wait_for_redis(connection)  # started while Redis is down (or restarting): wait, do not crash
        if keeps_chain:
            from webapp.embedded.maintenance import ensure_scheduled

            ensure_scheduled(connection)
    while True:
        # Shorter than RQ's defaults (600 s / 420 s) so a worker that died holding the scheduler
        # lock is replaced within about a minute, not ten.
        worker = HubWorker(queues, connection=connection,
                           maintenance_interval=app.config["RQ_MAINTENANCE_INTERVAL"],
                           worker_ttl=app.config["RQ_WORKER_TTL"])
        worker.keep_maintenance_chain = keeps_chain
        try:
            worker.work(burst=args.burst, with_scheduler=not args.no_scheduler, logging_level="INFO")
        except RedisError:  # its teardown could not even register the worker's death
            logging.getLogger("worker").exception("worker stopped: Redis unreachable")
        if args.burst or getattr(worker, "_shutdown_requested_date", None) is not None:
            return 0
        # RQ quits its loop when Redis vanishes while it finishes a job ("unhandled exception,
        # quitting"). Nobody asked this worker to stop: wait for Redis and work on.
        _wait_for_redis(connection)


def _wait_for_redis(connection) -> None:
    log = logging.getLogger("worker")
    # The finished worker's signal handlers would talk to Redis: a stop now simply ends the process.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    delay, waited = 1.0, False
    while True:
        try:
            connection.ping()
            if waited:
                log.warning("Redis answers again: starting a new worker")
            return
        except RedisError:
            log.warning("Redis unreachable; retrying in %.0fs", delay)
            waited = True
            time.sleep(delay)
            delay = min(10.0, delay * 2)


if __name__ == "__main__":
    raise SystemExit(main())

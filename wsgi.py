from webapp import create_app, warm_up

app = create_app()
warm_up()  # before the first request, not during it

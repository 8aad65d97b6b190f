from flask import Blueprint

bp = Blueprint("embedded", __name__, url_prefix="/preferences/embedded")

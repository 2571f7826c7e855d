"""Chinese-first search. The Whoosh index is derived from the database through an outbox."""

from flask import Blueprint

bp = Blueprint("search", __name__, url_prefix="/search")

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from market.auth.forms import ActionForm
from market.extensions import db
from market.web import commit, paginate, permission_required
from models.notifications import Notification

from . import bp, services


@bp.route("/")
@permission_required("notification.view_own")
def index():
    unread_only = request.args.get("unread") == "1"
    page = paginate(services.notifications_query(current_user, unread_only), request.args.get("page", 1, type=int), 20)
    return render_template(
        "notifications/index.html", page=page, unread_only=unread_only, action_form=ActionForm(), title=_("通知")
    )


@bp.route("/<int:notification_id>/read", methods=["POST"])
@permission_required("notification.view_own")
def read(notification_id: int):
    form = ActionForm()
    if form.validate_on_submit():
        services.mark_read(current_user, notification_id)
        commit()
        note = db.session.get(Notification, notification_id)
        if request.form.get("follow") and note and note.link and note.link.startswith("/"):
            return redirect(note.link)
    return redirect(url_for("notifications.index"))


@bp.route("/read-all", methods=["POST"])
@permission_required("notification.view_own")
def read_all():
    form = ActionForm()
    if form.validate_on_submit():
        services.mark_read(current_user)
        commit()
    return redirect(url_for("notifications.index"))


from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import Length, Optional, ValidationError

from market.dates import SaneDateField  # dates outside 2000..2100 are refused (issue 8)


class AuditFilterForm(FlaskForm):
    """GET filter form: no CSRF (it changes nothing)."""

    class Meta:
        csrf = False

    action = StringField(_l("操作"), validators=[Optional(), Length(max=60)], description=_l("如：付款、认证、发布"))
    organisation = StringField(_l("机构"), validators=[Optional(), Length(max=200)], description=_l("名称、编号或信用代码"))
    actor = StringField(_l("操作人（邮箱）"), validators=[Optional(), Length(max=254)])
    date_from = SaneDateField(_l("起始日期"), validators=[Optional()])
    date_to = SaneDateField(_l("截止日期"), validators=[Optional()])
    object_type = StringField(_l("对象类型"), validators=[Optional(), Length(max=40)])
    object_id = StringField(_l("对象编号"), validators=[Optional(), Length(max=64)])
    submit = SubmitField(_l("筛选"))

    def validate_date_to(self, field) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:  # found nothing, said nothing
            raise ValidationError(_l("截止日期不能早于起始日期。"))


FILTERS = ("action", "organisation", "actor", "date_from", "date_to", "object_type", "object_id")

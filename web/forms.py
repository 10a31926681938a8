"""The web forms (Flask-WTF: every form carries a CSRF token)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from logbook import rules


def choices(pairs):
    """WTForms choices from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


class CheckboxList(SelectMultipleField):
    """A multiple choice shown as checkboxes, which thumbs handle better than a multi-select."""

    widget = ListWidget(html_tag="ul", prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


KIND_LABELS = {
    "routine": _l("Routine"), "special": _l("Special campaign"),
    "complaint": _l("Complaint or report"), "referral": _l("Referral"),
    "monitoring": _l("Data-monitoring lead"), "firm_request": _l("At the firm's request"),
    "emergency": _l("Emergency"), "licensing": _l("Licensing on-site check"),
    "recheck": _l("Recheck of rectification"), "visit": _l("Service visit, not an inspection"),
}
RESULT_LABELS = {"no_issue": _l("No issue found"), "rectify": _l("Rectification ordered"),
                 "case_filed": _l("Case filed")}


class StartForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=choices((k, KIND_LABELS[k]) for k in rules.KINDS), default="routine")
    agencies = CheckboxList(_l("Participating agencies"))
    # a city has 20,000 inspectors and 900 items: the page offers a few and finds the rest as they are typed,
    # so any value may come back; the domain checks each one (unknown_inspector, item_outside)
    inspectors = CheckboxList(_l("Co-inspectors"), validate_choice=False)
    items = CheckboxList(_l("Items to check"), validate_choice=False)
    reference = StringField(_l("Reference (complaint or document number)"), validators=[Optional(), Length(max=200)])
    recheck_of = IntegerField(_l("Number of the inspection being rechecked"),
                              validators=[Optional(), NumberRange(min=1, max=2**62)])
    started_at = DateTimeLocalField(_l("Started at (only for a late entry)"), validators=[Optional()],
                                    format="%Y-%m-%dT%H:%M")
    reason = TextAreaField(_l("Reason for a late entry"), validators=[Optional(), Length(max=1000)])


class CloseForm(FlaskForm):
    result = SelectField(_l("Result"), choices=choices(RESULT_LABELS.items()))
    findings = TextAreaField(_l("Findings"), validators=[Optional(), Length(max=10000)])
    rectify_by = DateField(_l("Rectify by"), validators=[Optional()])


class VoidForm(FlaskForm):
    reason = StringField(_l("Why void it?"), validators=[DataRequired(), Length(max=1000)])


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField(_l("USCI or enterprise name"), validators=[DataRequired(), Length(max=100)])


class ConfirmForm(FlaskForm):
    code = StringField(_l("Confirmation code shown by the inspector"),
                       validators=[DataRequired(), Length(max=32)])


class RatingForm(FlaskForm):
    rating = SelectField(_l("Rating"), choices=choices((str(n), "★" * n + f" {n}") for n in range(5, 0, -1)), default="5")
    comment = TextAreaField(_l("Comment (only the supervising justice bureau reads it)"),
                            validators=[Optional(), Length(max=2000)])


COMPLAINT_LABELS = {"no_scan": _l("Inspected without scanning the code"), "too_frequent": _l("Too frequent inspections"),
                    "misconduct": _l("Misconduct of inspectors"), "fees_demanded": _l("Fees or favours demanded"),
                    "other": _l("Other")}
COMPLAINT_STATUS_LABELS = {"open": _l("open"), "in_progress": _l("in progress"), "resolved": _l("resolved"),
                           "rejected": _l("rejected")}


class StatementForm(FlaskForm):
    statement = TextAreaField(_l("Your answer to the findings"), validators=[DataRequired(), Length(max=5000)])


class RectificationForm(FlaskForm):
    text = TextAreaField(_l("What you have rectified"), validators=[DataRequired(), Length(max=5000)])
    photos = MultipleFileField(_l("Photos of the rectified state (up to 6)"))


class ComplaintForm(FlaskForm):
    category = SelectField(_l("What is the complaint about?"), choices=choices(COMPLAINT_LABELS.items()))
    text = TextAreaField(_l("What happened?"), validators=[DataRequired(), Length(max=5000)])
    inspection_id = IntegerField(_l("Inspection number (optional)"), validators=[Optional(), NumberRange(1, 2**62)])


class ActivationForm(FlaskForm):
    usci = StringField(_l("Unified Social Credit Code (USCI)"), validators=[DataRequired(), Length(max=40)])
    code = StringField(_l("Activation code from the letter"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=100)])
    username = StringField(_l("Choose a username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Choose a password (at least 8 characters)"), validators=[DataRequired(), Length(8, 256)])


class AnswerForm(FlaskForm):
    status = SelectField(_l("Status"), choices=choices(COMPLAINT_STATUS_LABELS.items()))
    answer = TextAreaField(_l("Answer to the enterprise"), validators=[DataRequired(), Length(max=5000)])


class AgencyForm(FlaskForm):
    code = StringField(_l("Agency code"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Agency name"), validators=[DataRequired(), Length(max=100)])


class ItemForm(FlaskForm):
    agency = SelectField(_l("Agency"))
    code = StringField(_l("Item code"), validators=[DataRequired(), Length(max=64)])
    name = StringField(_l("Item name"), validators=[DataRequired(), Length(max=200)])
    basis = StringField(_l("Legal basis"), validators=[Optional(), Length(max=500)])


ROLE_LABELS = {"inspector": _l("Inspector"), "firm": _l("Enterprise"), "supervisor": _l("Supervisor"),
               "admin": _l("Administrator"), "head": _l("Head of an agency")}


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    role = SelectField(_l("Role"), choices=choices(ROLE_LABELS.items()))
    name = StringField(_l("Full name"), validators=[Optional(), Length(max=100)])
    agency = SelectField(_l("Agency (inspectors)"))
    cert_no = StringField(_l("Certificate number (inspectors)"), validators=[Optional(), Length(max=64)])
    cert_expires = DateField(_l("Certificate valid until"), validators=[Optional()])
    usci = StringField(_l("USCI of the enterprise (firm users)"), validators=[Optional(), Length(max=40)])
    email = StringField(_l("Email (optional)"), validators=[Optional(), Length(max=254)])
    password = PasswordField(_l("Initial password (at least 8 characters)"), validators=[DataRequired(), Length(8, 256)])


TARGET_LABELS = {"all": _l("All enterprises"), "risk": _l("A risk level"), "industry": _l("An industry"),
                 "enterprise": _l("One enterprise (USCI)")}


class RuleForm(FlaskForm):
    max = IntegerField(_l("At most this many counted inspections"), validators=[InputRequired(), NumberRange(0, 1000)])
    agency = SelectField(_l("Scope"))
    target = SelectField(_l("Which enterprises"), choices=choices(TARGET_LABELS.items()))
    value = StringField(_l("Risk level, industry or USCI"), validators=[Optional(), Length(max=100)])
    window = StringField(_l("Window: year, or days:N for a rolling window"), default="year",
                         validators=[DataRequired(), Length(max=20)])


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file (usci,name[,address,industry,risk_level,lat,lon])"), validators=[FileRequired()])


TASK_STATUS_LABELS = {"submitted": _l("waiting for approval"), "approved": _l("approved"), "done": _l("done"),
                      "rejected": _l("not approved"), "cancelled": _l("cancelled"), "expired": _l("expired")}
TASK_STEP_LABELS = {"draft": _l("drafted"), "draw": _l("drawn at random"),
                    "backfill": _l("started without a task (exempt): approval to record"), "approved": _l("approved"),
                    "rejected": _l("not approved"), "cancelled": _l("cancelled"), "done": _l("started at the door"),
                    "joined": _l("joined with another agency's task"),
                    "unjoined": _l("no longer joined"), "proposed": _l("the enterprise proposed a day"),
                    "accepted": _l("the day was accepted"), "declined": _l("the day was declined")}


class TaskForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=choices((k, KIND_LABELS[k]) for k in rules.KINDS if k != rules.VISIT),
                       default="routine")
    window_start = DateField(_l("From"), validators=[InputRequired()])
    window_end = DateField(_l("To (included)"), validators=[InputRequired()])
    inspectors = CheckboxList(_l("Co-inspectors"), validate_choice=False)
    items = CheckboxList(_l("Items to check"), validate_choice=False)
    reason = TextAreaField(_l("Basis and reason"), validators=[Optional(), Length(max=2000)])
    notice = BooleanField(_l("Tell the enterprise in advance (检查预告)"), default=True)


class DecisionForm(FlaskForm):
    note = TextAreaField(_l("Note (required to reject or cancel)"), validators=[Optional(), Length(max=2000)])


RIGHT_LABELS = {"statement": _l("To state your case and defend it (陈述、申辩)"),
                "recusal": _l("To ask that an inspector with a conflict of interest step aside (申请回避)"),
                "identification": _l("To see the inspectors' enforcement certificates before the inspection"),
                "complaint": _l("To complain about an unlawful or improper inspection, here or to the justice bureau")}
PROPOSAL_LABELS = {"accepted": _l("accepted by the inspectors"), "declined": _l("declined by the inspectors")}


class ProposalForm(FlaskForm):
    day = DateField(_l("A day that suits the enterprise"), validators=[InputRequired()])


class AnswerProposalForm(FlaskForm):
    answer = SelectField(_l("Answer"), choices=choices([("accepted", _l("Accept the day")),
                                                        ("declined", _l("Decline the day"))]))


class JoinForm(FlaskForm):
    other = IntegerField(validators=[InputRequired(), NumberRange(1, 2**62)])


class DrawForm(FlaskForm):
    count = IntegerField(_l("How many enterprises"), validators=[InputRequired(), NumberRange(1, 10_000)], default=10)
    risk_level = SelectField(_l("Risk level"), choices=choices([("", _l("any"))] + [(r, r) for r in rules.RISK_LEVELS]),
                             default="")
    industry = StringField(_l("Industry (empty: any)"), validators=[Optional(), Length(max=100)])

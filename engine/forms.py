"""Camunda 7 ``camunda:formData`` as typed fields, and the check a submission passes before a user
task completes.

SpiffWorkflow parses formData into strings and stops there: it converts nothing, validates nothing
and applies no defaults. Without this module a clerk could complete a task with "abc" as a repair
fee, or skip a required phone number, and the mistake would surface only in a later step or report.

Field types are Camunda 7's built-in ones: ``string``, ``long``, ``boolean``, ``date``, ``enum``,
and two custom form types this engine registers (as Camunda 7's ``customFormTypes`` would):
``money`` (yuan, at most two decimals) and ``datetime`` (a moment, in the centre's zone when written
without an offset). Any other type an analyst writes (``double``, none at all) is treated as
``string``: the value is kept as text, so nothing is lost, but nothing beyond the text constraints
is checked.

Two custom validators are registered too (Camunda 7's ``customFormFieldValidators``):
``minField`` / ``maxField``, whose config names another field of the case, so a bound can come from
data ("a refund cannot exceed the price paid": ``<camunda:constraint name="maxField" config="price"/>``).

A ``defaultValue`` of ``${currentUser()}`` (Camunda 7's built-in context function; ``${currentUser}``
is read the same) makes the field the signed-in person: read-only, always the one who submits.

Values stored in task data are plain JSON types (``int``, ``float``, ``bool``, ``str``) because
SpiffWorkflow's serializer rejects ``Decimal``/``datetime``; a date is stored as an ISO
``YYYY-MM-DD`` string, a date-time as ISO text with its offset (``2026-01-05T14:30+08:00``), money
as a number rounded to the fen.

A form an analyst got wrong (a default that is not of the field's type, ``min`` on a text field,
an unsupported constraint …) raises :class:`DeployError` when its fields are read, so deployment can
refuse the diagram instead of a clerk meeting the problem at the counter.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Mapping, Sequence

import regex

from engine import clock, limits
from engine.errors import DeployError, InvalidInput
from engine.numbers import MAX_ID, whole_number

FIELD_TYPES = ("string", "long", "boolean", "date", "enum", "datetime", "money")
NUMBER_TYPES = ("long", "money")
CURRENT_USER = frozenset({"${currentUser()}", "${currentUser}"})

_INTEGER = re.compile(r"[+-]?\d+")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CAMUNDA_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")  # Camunda's default dd/MM/yyyy
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_MONEY = re.compile(r"[+-]?\d+(\.\d+)?")
_FIELD_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EXPRESSION = re.compile(r"[$#]\{")
_TRUE = frozenset({"true", "on", "1", "是"})
_FALSE = frozenset({"false", "off", "0", "否"})
_UNSET = object()  # "leave this variable as the task already holds it"

Options = tuple[tuple[str, str], ...]  # enum: (id, label), in the diagram's order


@dataclass(frozen=True)
class FormField:
    """One form field, with every constraint already read and the default already converted.

    ``type`` is one of :data:`FIELD_TYPES`; a Camunda type outside them is read as ``string``.
    ``label`` falls back to the id, so messages can always name the field. ``min_field`` /
    ``max_field`` name the field whose value bounds this one; ``current_user``: the field is the
    person who submits the form.
    """

    id: str
    label: str
    type: str
    required: bool = False
    readonly: bool = False
    default: object | None = None
    options: Options = ()
    min: float | None = None
    max: float | None = None
    minlength: int | None = None
    maxlength: int | None = None
    min_field: str | None = None
    max_field: str | None = None
    current_user: bool = False
    pattern: str | None = None  # the whole text must match (a Camunda Form's validate.pattern)
    properties: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)


class _Rejected(ValueError):
    """A value the field cannot take; the message is the reason, to follow the field's label."""


# --- reading the form -----------------------------------------------------------------------------

def fields_of(task_spec: Any) -> list[FormField]:
    """The fields of a user task's form; ``[]`` for a task without one."""
    try:
        return fields_from_form(getattr(task_spec, "form", None))
    except DeployError as error:
        task = getattr(task_spec, "bpmn_name", None) or getattr(task_spec, "bpmn_id", task_spec.name)
        raise DeployError([f"用户任务「{task}」：{problem}" for problem in error.problems]) from None


def fields_from_form(form: Any) -> list[FormField]:
    """Typed fields from a SpiffWorkflow ``Form`` (``None`` → ``[]``).

    Raises :class:`DeployError` listing every problem of the form, not just the first, so an
    analyst fixes the diagram in one round.
    """
    return [] if form is None else list(_typed_fields(form))


@functools.lru_cache(maxsize=4096)
def _typed_fields(form: Any) -> tuple[FormField, ...]:
    """Forms belong to parsed specs, which never change once deployed: typed once per form."""
    problems: list[str] = []
    fields = [_field_from(spiff_field, problems) for spiff_field in form.fields]
    seen: set[str] = set()
    for form_field in fields:
        if form_field.id in seen:
            problems.append(f"表单字段 id「{form_field.id}」重复")
        seen.add(form_field.id)
    if problems:
        raise DeployError(problems)
    return tuple(fields)


def defaults(fields: Sequence[FormField], user: str | None = None) -> dict[str, object]:
    """The declared default values, to pre-fill a form before the user edits it; ``user`` fills
    the fields that are the signed-in person."""
    found: dict[str, object] = {f.id: f.default for f in fields if f.default is not None}
    if user is not None:
        found.update({f.id: user for f in fields if f.current_user})
    return found


def _field_from(spiff_field: Any, problems: list[str]) -> FormField:
    """One typed field; what is wrong with it goes to ``problems``."""
    field_id = spiff_field.id or ""
    label = spiff_field.label or field_id
    field_type = spiff_field.type if spiff_field.type in FIELD_TYPES else "string"
    own: list[str] = []
    if not field_id:
        own.append("缺少 id")
    constraints = _constraints(field_type, spiff_field.validation, own)
    options = _options(field_type, getattr(spiff_field, "options", []), own)
    properties = MappingProxyType({p.id: p.value for p in spiff_field.properties})
    draft = FormField(field_id, label, field_type, options=options, properties=properties,
                      **constraints)
    _check_ranges(draft, own)
    raw_default = (spiff_field.default_value or "").strip()
    if raw_default in CURRENT_USER:
        if field_type != "string":
            own.append(f"默认值 {raw_default}（办理人）只能用于文本（string）字段")
        problems.extend(f"表单字段 {field_id}（{label}）：{problem}" for problem in own)
        return replace(draft, current_user=True, readonly=True)
    default = _default(draft, spiff_field.default_value, own)
    problems.extend(f"表单字段 {field_id}（{label}）：{problem}" for problem in own)
    return replace(draft, default=default)


_KNOWN = "required、readonly、minlength、maxlength、pattern（文本）、min、max（整数）"
#: How long one pattern may take on one value: an analyst's pattern must not hang a request.
PATTERN_SECONDS = 0.2


def _constraints(field_type: str, validations: Sequence[Any], problems: list[str]) -> dict[str, Any]:
    """``camunda:constraint`` entries as FormField keyword arguments."""
    found: dict[str, Any] = {}
    for validation in validations:
        name, config = validation.name, validation.config
        if name in ("required", "readonly"):
            found[name] = True
        elif name in ("min", "max"):
            if field_type in NUMBER_TYPES:
                found[name] = _bound(name, config, problems)
            else:
                problems.append(f"{name} 只能用于整数（long）或金额（money）字段")
        elif name in ("minField", "maxField"):
            if field_type not in NUMBER_TYPES:
                problems.append(f"{name} 只能用于整数（long）或金额（money）字段")
            elif not _FIELD_ID.fullmatch((config or "").strip()):
                problems.append(f'{name} 的值 "{config}" 应是另一个字段的 id，如 config="price"')
            else:
                found[f"{name[:3]}_field"] = config.strip()
        elif name in ("minlength", "maxlength"):
            if field_type == "string":
                found[name] = _length(name, config, problems)
            else:
                problems.append(f"{name} 只能用于文本（string）字段")
        elif name == "pattern":
            if field_type != "string":
                problems.append("pattern 只能用于文本（string）字段")
            else:
                found["pattern"] = _pattern(config, problems)
        elif name == "validator":
            problems.append(f"不支持自定义校验器（validator {config or ''}，在 Camunda 中是 Java 类）：请改用 {_KNOWN}"
                            "，或在其后的脚本任务中检查")
        else:
            problems.append(f"不支持的校验约束「{name}」：可用的约束有 {_KNOWN}")
    return found


def _pattern(config: str | None, problems: list[str]) -> str | None:
    try:
        regex.compile(config or "", regex.V0)
    except regex.error as error:
        problems.append(f'pattern "{config}" 不是有效的正则表达式（{error}）')
        return None
    return config or None


def _bound(name: str, config: str | None, problems: list[str]) -> float | None:
    try:
        number = float(config or "")
    except ValueError:
        number = math.nan
    if math.isfinite(number):
        return number
    problems.append(f'{name} 的值 "{config}" 不是数字')
    return None


def _length(name: str, config: str | None, problems: list[str]) -> int | None:
    length = whole_number(config, most=MAX_ID)
    if length is not None:
        return length
    problems.append(f'{name} 的值 "{config}" 不是非负整数')
    return None


def _options(field_type: str, spiff_options: Sequence[Any], problems: list[str]) -> Options:
    if field_type != "enum":
        return ()
    if not spiff_options:
        problems.append("枚举字段没有任何选项")
    if any(not option.id for option in spiff_options):
        problems.append("有枚举选项缺少 id")
    return tuple((option.id, option.name or option.id) for option in spiff_options if option.id)


def _check_ranges(draft: FormField, problems: list[str]) -> None:
    if draft.min is not None and draft.max is not None and draft.min > draft.max:
        problems.append(f"min（{_number_text(draft.min)}）大于 max（{_number_text(draft.max)}）")
    shortest, longest = draft.minlength, draft.maxlength
    if shortest is not None and longest is not None and shortest > longest:
        problems.append(f"minlength（{shortest}）大于 maxlength（{longest}）")


def _default(draft: FormField, raw: str | None, problems: list[str]) -> object | None:
    """The default converted to the field's type; expressions are refused because there is no
    task data to evaluate them against when a form is pre-filled."""
    if raw is None or not raw.strip():
        return None
    if _EXPRESSION.search(raw):
        problems.append(f'默认值 "{raw}" 是表达式，表单默认值只支持固定值或 ${{currentUser()}}（办理人）')
        return None
    if draft.type == "boolean":
        return _boolean_default(raw, problems)
    try:
        value = _convert(draft, raw)
        _check_constraints(draft, value)
    except _Rejected as rejected:
        problems.append(f'默认值 "{raw}" 无效：「{draft.label}」{rejected}')
        return None
    return value


#: Defaults Camunda 7 reads as false and that mean false: Camunda reads every text but "true" as
#: false (BooleanFormType), so "No" is false there too, while "Yes" would silently be false.
_FALSE_DEFAULTS = frozenset({"false", "no", "off", "0", "否"})


def _boolean_default(raw: str, problems: list[str]) -> bool | None:
    text = raw.strip().lower()
    if text == "true" or text in _FALSE_DEFAULTS:
        return text == "true"
    problems.append(f'默认值 "{raw}" 在 Camunda 7 中读作 false（只有 "true" 读作 true）：'
                    '要默认“是”请写 true，默认“否”请写 false')
    return None


# --- checking a submission ------------------------------------------------------------------------

def validate(
    fields: Sequence[FormField],
    submitted: Mapping[str, object],
    current: Mapping[str, object] | None = None,
    *,
    user: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """The converted values to merge into task data, or :class:`InvalidInput` with every error.

    ``submitted`` holds strings (web form, CLI) or JSON values; ``current`` is the task's data;
    ``user`` is who submits (the value of ``${currentUser()}`` fields); ``labels`` name the case's
    fields of other forms, for a ``minField``/``maxField`` message.
    ``None`` and blank strings count as absent. An absent field
    - keeps the value the task already holds (nothing is returned for it; this also satisfies
      ``required``, as in Camunda);
    - otherwise takes its default;
    - otherwise is an error if required, and is left unset (not returned) if not.
    Booleans are the exception: an unticked HTML checkbox is simply not sent, so an absent boolean
    is ``False`` — or, if required, an error: the question must be answered 是 or 否 (a
    boolean's default only pre-fills the form).
    Readonly fields are never written by the user: a submitted value must equal the current (else
    default) one, and only a default the task does not hold yet is returned. A
    ``${currentUser()}`` field is always ``user``.
    Inputs are not modified.
    """
    current = current or {}
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    for form_field in fields:
        try:
            if form_field.current_user:
                value = _person_value(form_field, _given(submitted.get(form_field.id)), user)
            else:
                value = _field_value(form_field, _given(submitted.get(form_field.id)), current)
        except _Rejected as rejected:
            errors[form_field.id] = f"「{form_field.label}」{rejected}"
            continue
        if value is not _UNSET:
            values[form_field.id] = value
    names = {**(labels or {}), **{f.id: f.label for f in fields}}
    errors.update(_bound_by_fields(fields, values, current, names, errors))
    known = {form_field.id for form_field in fields}
    errors.update({key: f"表单中没有「{key}」这一项" for key in submitted if key not in known})
    if errors:
        summary = f"表单有 {len(errors)} 处错误：" + "；".join(errors.values())
        raise InvalidInput(summary, field_errors=errors)
    return values


def _given(raw: object) -> object | None:
    """The submitted value, or ``None`` when the user left the field empty."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    return raw


def _field_value(form_field: FormField, given: object | None, current: Mapping[str, object]) -> object:
    if form_field.readonly:
        return _readonly_value(form_field, given, current)
    if given is None:
        return _absent_value(form_field, current)
    value = _convert(form_field, given)
    _check_constraints(form_field, value)
    return value


def _person_value(form_field: FormField, given: object | None, user: str | None) -> str:
    """The submitter, whatever the form held before: a sign-off is whoever signs."""
    if user is None:
        raise _Rejected("须由登录的办理人提交（自动填写为办理人）")
    if given is not None and given != user:
        raise _Rejected("自动填写为办理人，不可修改")
    return user


def _bound_by_fields(fields: Sequence[FormField], values: Mapping[str, object],
                     current: Mapping[str, object], names: Mapping[str, str],
                     errors: Mapping[str, str]) -> dict[str, str]:
    """``minField``/``maxField``: compare with the other field as submitted now, else as the case
    holds it; a bound the case does not hold (yet) bounds nothing."""
    found: dict[str, str] = {}
    for form_field in fields:
        value = values.get(form_field.id, current.get(form_field.id))
        if form_field.id in errors or not _is_number(value):
            continue
        for other, too_far, words in ((form_field.min_field, lambda v, b: v < b, "不能小于"),
                                      (form_field.max_field, lambda v, b: v > b, "不能大于")):
            bound = values.get(other, current.get(other)) if other else None
            if _is_number(bound) and too_far(value, bound):
                found[form_field.id] = (f"「{form_field.label}」{words}「{names.get(other, other)}」"
                                        f"（{_amount_text(bound, form_field.type)}）")
    return found


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _amount_text(value: float, field_type: str) -> str:
    return f"{value:,.2f}" if field_type == "money" else _number_text(float(value))


def _absent_value(form_field: FormField, current: Mapping[str, object]) -> object:
    if form_field.type == "boolean":
        if form_field.required:
            raise _Rejected("请选择“是”或“否”")
        return False
    if _given(current.get(form_field.id)) is not None:
        return _UNSET
    if form_field.default is not None:
        return form_field.default
    if form_field.required:
        raise _Rejected("为必填项")
    return _UNSET


def _readonly_value(form_field: FormField, given: object | None, current: Mapping[str, object]) -> object:
    held = _given(current.get(form_field.id))
    reference = form_field.default if held is None else held
    if given is not None and not _same(form_field, given, reference):
        raise _Rejected("是只读字段，不可修改")
    if held is None and form_field.default is not None:
        return form_field.default
    return _UNSET


def _same(form_field: FormField, given: object, reference: object | None) -> bool:
    """Equal once both are of the field's type, so "12" from a web form matches a stored 12."""
    if reference is None:
        return False
    try:
        return _convert(form_field, given) == _convert(form_field, reference)
    except _Rejected:
        return given == reference


def _check_constraints(form_field: FormField, value: object) -> None:
    if form_field.min is not None and value < form_field.min:
        raise _Rejected(f"不能小于 {_amount_text(form_field.min, form_field.type)}")
    if form_field.max is not None and value > form_field.max:
        raise _Rejected(f"不能大于 {_amount_text(form_field.max, form_field.type)}")
    if form_field.minlength is not None and len(value) < form_field.minlength:
        raise _Rejected(f"至少 {form_field.minlength} 个字符")
    longest = form_field.maxlength
    if longest is None and form_field.type == "string":  # the form sets none: the centre's own limit
        longest = limits.number(limits.MAX_FIELD_CHARS)
    if longest is not None and len(value) > longest:
        raise _Rejected(f"最多 {longest} 个字符")
    if form_field.pattern is not None and not _matches(form_field.pattern, value):
        raise _Rejected(f"的格式不对（须符合 {form_field.pattern}）")


def _matches(pattern: str, value: str) -> bool:
    try:
        return regex.fullmatch(pattern, value, regex.V0, timeout=PATTERN_SECONDS) is not None
    except TimeoutError:
        raise _Rejected("的格式检查超时，请简化输入") from None


def _number_text(number: float) -> str:
    return str(int(number)) if number.is_integer() else str(number)


# --- conversion to the field's type ---------------------------------------------------------------

def _convert(form_field: FormField, raw: object) -> object:
    if form_field.type == "enum":
        return _to_option(raw, form_field.options)
    return _CONVERTERS[form_field.type](raw)


def _to_string(raw: object) -> str:
    if isinstance(raw, str):
        return raw.strip()
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return str(raw)
    raise _Rejected("必须是文本")


def _to_long(raw: object) -> int:
    if isinstance(raw, bool):
        raise _Rejected("必须是整数")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and _INTEGER.fullmatch(raw.strip()):
        return int(raw.strip())
    raise _Rejected("必须是整数")


def _to_boolean(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    raise _Rejected("必须是“是”或“否”")


def _to_date(raw: object) -> str:
    """An ISO ``YYYY-MM-DD`` string; a date-time keeps the date as written, without moving it to
    another time zone, because that is the day the user meant."""
    if isinstance(raw, datetime):
        return raw.date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    parsed = _parse_date(raw.strip()) if isinstance(raw, str) else None
    if parsed is None:
        raise _Rejected("必须是日期，如 2024-05-31 或 31/05/2024")
    return parsed.isoformat()


def _parse_date(text: str) -> date | None:
    try:
        if match := _CAMUNDA_DATE.fullmatch(text):
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day)
        if _ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
        if _ISO_DATE.match(text):
            return datetime.fromisoformat(text).date()
    except ValueError:
        return None
    return None


def _to_datetime(raw: object) -> str:
    """ISO text with the offset, to the minute (``2026-01-05T14:30+08:00``): a time written
    without an offset is the centre's local time, as a clerk at the counter means it."""
    if isinstance(raw, datetime):
        moment = raw if raw.tzinfo else raw.replace(tzinfo=clock.local_tz())
    elif isinstance(raw, str) and _ISO_DATETIME.fullmatch(raw.strip()):
        try:
            moment = datetime.fromisoformat(raw.strip().replace(" ", "T"))
        except ValueError:
            raise _Rejected("必须是日期和时间，如 2026-01-05 14:30") from None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=clock.local_tz())
    else:
        raise _Rejected("必须是日期和时间，如 2026-01-05 14:30")
    return moment.astimezone(clock.local_tz()).isoformat(timespec="minutes")


def _to_money(raw: object) -> float | int:
    """Yuan to the fen; thousands separators, ¥ and 元 as people write them are allowed."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise _Rejected("必须是金额，如 1299 或 1299.50")
    text = str(raw).strip().lstrip("¥￥").rstrip("元").replace(",", "").replace("，", "").strip()
    if not _MONEY.fullmatch(text):
        raise _Rejected("必须是金额，如 1299 或 1299.50")
    amount = Decimal(text)
    if amount != amount.quantize(Decimal("0.01")):
        raise _Rejected("最多保留两位小数（到分）")
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _to_option(raw: object, options: Options) -> str:
    """An option id; the error lists labels with their ids, so a CLI user knows what to type."""
    text = str(raw).strip() if isinstance(raw, (str, int)) and not isinstance(raw, bool) else None
    if text in {option_id for option_id, _ in options}:
        return text
    choices = (label if label == option_id else f"{label}（{option_id}）" for option_id, label in options)
    raise _Rejected(f"的取值必须是：{'、'.join(choices)}")


_CONVERTERS = {"string": _to_string, "long": _to_long, "boolean": _to_boolean, "date": _to_date,
               "datetime": _to_datetime, "money": _to_money}

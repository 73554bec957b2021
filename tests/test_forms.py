"""Camunda formData → typed fields, and the check a submission passes before a user task completes.

Forms come from real BPMN parsed by SpiffWorkflow's CamundaParser, as analysts' diagrams will.
"""
from __future__ import annotations

import copy
import json
from datetime import date, datetime

import pytest
from SpiffWorkflow.camunda.parser import CamundaParser

from engine.errors import DeployError, InvalidInput
from engine.forms import FormField, defaults, fields_from_form, fields_of, validate

TICKET_FORM = """
<camunda:formField id="phone" label="联系电话" type="string">
  <camunda:properties><camunda:property id="placeholder" value="手机或座机" /></camunda:properties>
  <camunda:validation>
    <camunda:constraint name="required" />
    <camunda:constraint name="minlength" config="7" />
    <camunda:constraint name="maxlength" config="13" />
  </camunda:validation>
</camunda:formField>
<camunda:formField id="note" label="说明" type="string">
  <camunda:validation><camunda:constraint name="maxlength" config="200" /></camunda:validation>
</camunda:formField>
<camunda:formField id="fee" label="维修费用" type="long" defaultValue="0">
  <camunda:validation>
    <camunda:constraint name="min" config="0" />
    <camunda:constraint name="max" config="10000" />
  </camunda:validation>
</camunda:formField>
<camunda:formField id="called_back" label="已回访" type="boolean" />
<camunda:formField id="visit_on" label="上门日期" type="date" />
<camunda:formField id="result" label="处理结果" type="enum" defaultValue="solved">
  <camunda:value id="solved" name="已解决" />
  <camunda:value id="unsolved" name="未解决" />
</camunda:formField>
<camunda:formField id="ticket_no" label="工单号" type="long">
  <camunda:validation><camunda:constraint name="readonly" /></camunda:validation>
</camunda:formField>
"""


def user_task(form_fields: str, name: str = "登记工单"):
    """The parsed user task of a one-task process whose form holds ``form_fields``."""
    bpmn = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="task" name="{name}" camunda:formKey="ticket">
      <bpmn:extensionElements><camunda:formData>{form_fields}</camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task" />
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""
    parser = CamundaParser()
    parser.add_bpmn_str(bpmn.encode())
    return parser.get_spec("p").task_specs["task"]


@pytest.fixture(scope="module")
def ticket() -> dict[str, FormField]:
    return {f.id: f for f in fields_of(user_task(TICKET_FORM))}


def one_field(xml: str) -> list[FormField]:
    return fields_of(user_task(xml))


def errors_of(fields, submitted, current=None, **context) -> dict[str, str]:
    with pytest.raises(InvalidInput) as raised:
        validate(fields, submitted, current, **context)
    return raised.value.field_errors


VALID = {"phone": "13800138000", "ticket_no": None}


# --- reading the form -----------------------------------------------------------------------------

def test_fields_keep_form_order_types_labels_and_constraints(ticket):
    assert list(ticket) == ["phone", "note", "fee", "called_back", "visit_on", "result", "ticket_no"]
    phone, fee, result = ticket["phone"], ticket["fee"], ticket["result"]
    assert (phone.label, phone.type, phone.required) == ("联系电话", "string", True)
    assert (phone.minlength, phone.maxlength) == (7, 13)
    assert phone.properties == {"placeholder": "手机或座机"}
    assert (fee.type, fee.default, fee.min, fee.max, fee.required) == ("long", 0, 0.0, 10000.0, False)
    assert (result.type, result.default) == ("enum", "solved")
    assert result.options == (("solved", "已解决"), ("unsolved", "未解决"))
    assert ticket["ticket_no"].readonly and not ticket["note"].readonly
    assert [ticket[i].type for i in ("called_back", "visit_on")] == ["boolean", "date"]


@pytest.mark.parametrize(
    ("field_type", "default", "expected"),
    [("long", "-12", -12), ("boolean", "true", True), ("boolean", "false", False),
     ("date", "31/05/2024", "2024-05-31"), ("date", "2024-05-31", "2024-05-31"), ("string", " 无 ", "无")],
)
def test_defaults_are_converted_to_the_field_type(field_type, default, expected):
    [field] = one_field(xml_field(field_type, default=default))
    assert field.default == expected


def test_unknown_or_missing_type_is_text_and_label_falls_back_to_id():
    fields = one_field('<camunda:formField id="amount" label="金额" type="double" />'
                       '<camunda:formField id="memo" />')
    assert [(f.type, f.label) for f in fields] == [("string", "金额"), ("string", "memo")]
    assert validate(fields, {"amount": " 12.50 "}) == {"amount": "12.50"}


def test_task_without_form_has_no_fields():
    assert fields_of(object()) == []
    assert fields_from_form(None) == []
    assert fields_of(user_task("")) == []


def test_defaults_prefill_only_declared_values(ticket):
    assert defaults(ticket.values()) == {"fee": 0, "result": "solved"}


def xml_field(kind: str, rules: str = "", default: str | None = None, body: str = "") -> str:
    """A field 「字段」 (id ``x``); ``rules`` is space-separated ``name=config`` constraints."""
    constraints = "".join(
        f'<camunda:constraint name="{name}" config="{config}" />'
        for name, _, config in (rule.partition("=") for rule in rules.split())
    )
    validation = f"<camunda:validation>{constraints}</camunda:validation>" if constraints else ""
    default_attr = f' defaultValue="{default}"' if default is not None else ""
    return (f'<camunda:formField id="x" label="字段" type="{kind}"{default_attr}>'
            f"{validation}{body}</camunda:formField>")


OPTION_A = '<camunda:value id="a" name="甲" />'


@pytest.mark.parametrize(
    ("xml", "problem"),
    [
        (xml_field("long", default="abc"), '默认值 "abc" 无效：「字段」必须是整数'),
        (xml_field("enum", default="b", body=OPTION_A), '默认值 "b" 无效：「字段」的取值必须是：甲（a）'),
        (xml_field("string", default="${customer}"), "表达式"),
        (xml_field("enum"), "枚举字段没有任何选项"),
        (xml_field("date", "min=1"), "min 只能用于整数（long）或金额（money）字段"),
        (xml_field("string", "maxField=price"), "maxField 只能用于整数（long）或金额（money）字段"),
        (xml_field("money", "maxField=${price}"), 'maxField 的值 "${price}" 应是另一个字段的 id'),
        (xml_field("long", default="${currentUser()}"), "办理人）只能用于文本（string）字段"),
        (xml_field("long", "max=ten"), 'max 的值 "ten" 不是数字'),
        (xml_field("long", "minlength=1"), "minlength 只能用于文本（string）字段"),
        (xml_field("string", "maxlength=-1"), 'maxlength 的值 "-1" 不是非负整数'),
        (xml_field("long", "min=5 max=1"), "min（5）大于 max（1）"),
        (xml_field("string", "minlength=5 maxlength=1"), "minlength（5）大于 maxlength（1）"),
        (xml_field("long", "max=5", default="9"), '默认值 "9" 无效：「字段」不能大于 5'),
        (xml_field("string", "validator=com.acme.Check"), "不支持自定义校验器"),
        (xml_field("long", "pattern=[0-9]+"), "pattern 只能用于文本（string）字段"),
        (xml_field("string", "pattern=[0-9"), "不是有效的正则表达式"),
        (xml_field("string") + xml_field("long"), "表单字段 id「x」重复"),
    ],
)
def test_a_form_the_engine_cannot_honour_is_refused_at_deploy(xml, problem):
    with pytest.raises(DeployError) as raised:
        fields_of(user_task(xml, name="上门维修"))
    [message] = raised.value.problems
    assert message.startswith("用户任务「上门维修」：")
    assert problem in message


def test_every_problem_of_a_form_is_reported_at_once():
    with pytest.raises(DeployError) as raised:
        fields_of(user_task(xml_field("long", "min=x", default="y")))
    assert len(raised.value.problems) == 2


# --- conversion -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [("12", 12), (12, 12), (" -3 ", -3), (12.0, 12), ("+7", 7)])
def test_long_accepts_whole_numbers(raw, expected):
    fields = one_field('<camunda:formField id="n" label="数量" type="long" />')
    assert validate(fields, {"n": raw}) == {"n": expected}


@pytest.mark.parametrize("raw", ["12.5", "abc", "1e3", "1_000", True, 12.5, [1]])
def test_long_rejects_anything_else(ticket, raw):
    assert errors_of([ticket["fee"]], {"fee": raw}) == {"fee": "「维修费用」必须是整数"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(True, True), (False, False), ("true", True), ("FALSE", False), ("on", True), ("1", True),
     ("0", False), ("是", True), ("否", False), (1, True), (0, False)],
)
def test_boolean_accepts_form_and_json_spellings(ticket, raw, expected):
    assert validate([ticket["called_back"]], {"called_back": raw}) == {"called_back": expected}


@pytest.mark.parametrize("raw", ["maybe", 2, "对"])
def test_boolean_rejects_anything_else(ticket, raw):
    assert errors_of([ticket["called_back"]], {"called_back": raw}) == {"called_back": "「已回访」必须是“是”或“否”"}


def test_unticked_checkbox_means_false_even_when_it_was_ticked_before(ticket):
    assert validate([ticket["called_back"]], {}, {"called_back": True}) == {"called_back": False}


def test_required_boolean_must_be_answered_and_either_answer_is_valid():
    fields = one_field(xml_field("boolean", "required", default="true"))
    assert errors_of(fields, {}) == {"x": "「字段」请选择“是”或“否”"}
    assert validate(fields, {"x": "false"}) == {"x": False}
    assert validate(fields, {"x": "否"}) == {"x": False}
    assert validate(fields, {"x": "是"}) == {"x": True}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2026-01-05T14:30", "2026-01-05T14:30+08:00"), (" 2026-01-05 14:30 ", "2026-01-05T14:30+08:00"),
     ("2026-01-05T06:30:00Z", "2026-01-05T14:30+08:00"), (datetime(2026, 1, 5, 14, 30), "2026-01-05T14:30+08:00")],
)
def test_datetime_becomes_local_iso_text_with_its_offset(raw, expected):
    fields = one_field(xml_field("datetime"))
    assert validate(fields, {"x": raw}) == {"x": expected}


@pytest.mark.parametrize("raw", ["昨天下午3点", "2026-01-05", "2026-02-30 10:00", "14:30", 5])
def test_datetime_refuses_what_it_cannot_read_in_chinese(raw):
    fields = one_field(xml_field("datetime", "required"))
    assert errors_of(fields, {"x": raw}) == {"x": "「字段」必须是日期和时间，如 2026-01-05 14:30"}


@pytest.mark.parametrize(("raw", "expected"), [("1299", 1299), ("1,299.50", 1299.5), ("¥259.9", 259.9),
                                               ("30元", 30), (12.25, 12.25), (7, 7)])
def test_money_is_yuan_to_the_fen(raw, expected):
    assert validate(one_field(xml_field("money")), {"x": raw}) == {"x": expected}


@pytest.mark.parametrize(("raw", "message"), [("12.345", "最多保留两位小数（到分）"), ("abc", "必须是金额，如 1299 或 1299.50"),
                                              (True, "必须是金额，如 1299 或 1299.50"), ("-1", "不能小于 0.00")])
def test_money_refuses_fractions_of_a_fen_and_text(raw, message):
    assert errors_of(one_field(xml_field("money", "min=0")), {"x": raw}) == {"x": f"「字段」{message}"}


REFUND = ('<camunda:formField id="refund" label="退款金额" type="money">'
          '<camunda:validation><camunda:constraint name="maxField" config="price" />'
          '<camunda:constraint name="minField" config="deposit" /></camunda:validation></camunda:formField>')


def test_a_bound_can_be_another_field_of_the_case():
    fields = one_field(REFUND)
    assert errors_of(fields, {"refund": "1"}, {"price": 1299, "deposit": 5}) == {
        "refund": "「退款金额」不能小于「deposit」（5.00）"}
    assert errors_of(fields, {"refund": "1300"}, {"price": 1299}, labels={"price": "销售价格"}) == {
        "refund": "「退款金额」不能大于「销售价格」（1,299.00）"}
    assert validate(fields, {"refund": "1299"}, {"price": 1299}) == {"refund": 1299}
    assert validate(fields, {"refund": "9"}, {}) == {"refund": 9}  # no price on record: nothing to compare


def test_a_current_user_field_is_whoever_submits_and_cannot_be_typed():
    fields = one_field('<camunda:formField id="receiver" label="接单人" type="string" '
                       'defaultValue="${currentUser()}" />')
    [receiver] = fields
    assert receiver.current_user and receiver.readonly and receiver.default is None
    assert defaults(fields, user="engineer") == {"receiver": "engineer"}
    assert validate(fields, {}, {"receiver": "somebody_else"}, user="engineer") == {"receiver": "engineer"}
    assert errors_of(fields, {"receiver": "赵强"}, user="engineer") == {"receiver": "「接单人」自动填写为办理人，不可修改"}
    assert "登录" in errors_of(fields, {})["receiver"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2024-05-31", "2024-05-31"), (" 31/05/2024 ", "2024-05-31"), ("1/6/2024", "2024-06-01"),
     ("2024-05-31T23:30:00+08:00", "2024-05-31"), ("2024-05-31 08:00", "2024-05-31"),
     (date(2024, 5, 31), "2024-05-31"), (datetime(2024, 5, 31, 23, 59), "2024-05-31")],
)
def test_date_becomes_iso_text(ticket, raw, expected):
    assert validate([ticket["visit_on"]], {"visit_on": raw}) == {"visit_on": expected}


@pytest.mark.parametrize("raw", ["2024-02-30", "31/02/2024", "05/31/2024", "明天", "20240531", 20240531])
def test_date_rejects_impossible_or_unknown_dates(ticket, raw):
    assert errors_of([ticket["visit_on"]], {"visit_on": raw}) == {
        "visit_on": "「上门日期」必须是日期，如 2024-05-31 或 31/05/2024"}


def test_enum_takes_option_ids_only(ticket):
    assert validate([ticket["result"]], {"result": " unsolved "}) == {"result": "unsolved"}
    assert errors_of([ticket["result"]], {"result": "已解决"}) == {
        "result": "「处理结果」的取值必须是：已解决（solved）、未解决（unsolved）"}


def test_enum_message_lists_labels_alone_when_they_are_the_ids():
    fields = one_field('<camunda:formField id="r" label="处理结果" type="enum">'
                       '<camunda:value id="已解决" name="已解决" /><camunda:value id="未解决" /></camunda:formField>')
    assert errors_of(fields, {"r": "x"}) == {"r": "「处理结果」的取值必须是：已解决、未解决"}


def test_text_is_stripped_and_numbers_become_text(ticket):
    assert validate([ticket["note"]], {"note": "  客户不在家  "}) == {"note": "客户不在家"}
    assert validate([ticket["note"]], {"note": 42}) == {"note": "42"}
    assert errors_of([ticket["note"]], {"note": {"a": 1}}) == {"note": "「说明」必须是文本"}


# --- absent values, defaults, constraints ---------------------------------------------------------

@pytest.mark.parametrize("blank", [None, "", "   "])
def test_blank_counts_as_absent(ticket, blank):
    fields = [ticket["phone"], ticket["fee"], ticket["note"]]
    assert errors_of(fields, {"phone": blank, "fee": blank, "note": blank}) == {"phone": "「联系电话」为必填项"}
    submitted = {"phone": "13800138000", "fee": blank, "note": blank}
    assert validate(fields, submitted) == {"phone": "13800138000", "fee": 0}


def test_absent_field_keeps_what_the_task_already_holds(ticket):
    fields = [ticket["phone"], ticket["fee"]]
    assert validate(fields, {}, {"phone": "13800138000", "fee": 350}) == {}


@pytest.mark.parametrize(
    ("field_id", "raw", "message"),
    [("fee", -1, "「维修费用」不能小于 0"), ("fee", "10001", "「维修费用」不能大于 10000"),
     ("phone", "123456", "「联系电话」至少 7 个字符"), ("phone", "1" * 14, "「联系电话」最多 13 个字符"),
     ("note", "长" * 201, "「说明」最多 200 个字符")],
)
def test_constraints_apply_to_converted_values(ticket, field_id, raw, message):
    assert errors_of([ticket[field_id]], {field_id: raw}) == {field_id: message}


@pytest.mark.parametrize(
    ("field_id", "raw"), [("fee", "0"), ("fee", 10000), ("phone", " 1234567 "), ("note", "长" * 200)]
)
def test_values_on_the_boundary_are_accepted(ticket, field_id, raw):
    assert field_id in validate([ticket[field_id]], {field_id: raw})


# --- readonly, unknown fields, many errors --------------------------------------------------------

def test_readonly_field_may_be_resent_unchanged_but_not_changed(ticket):
    ticket_no = [ticket["ticket_no"]]
    assert validate(ticket_no, {"ticket_no": "1024"}, {"ticket_no": 1024}) == {}
    assert validate(ticket_no, {}, {"ticket_no": 1024}) == {}
    changed = {"ticket_no": "「工单号」是只读字段，不可修改"}
    assert errors_of(ticket_no, {"ticket_no": "1025"}, {"ticket_no": 1024}) == changed
    assert errors_of(ticket_no, {"ticket_no": 1}) == changed


def test_readonly_field_with_default_gets_it_when_the_task_lacks_it():
    fields = one_field(xml_field("string", "readonly", default="v2"))
    assert validate(fields, {"x": "v2"}) == {"x": "v2"}
    assert validate(fields, {}, {"x": "v1"}) == {}
    assert errors_of(fields, {"x": "v2"}, {"x": "v1"}) == {"x": "「字段」是只读字段，不可修改"}


def test_fields_not_on_the_form_are_named(ticket):
    errors = errors_of(ticket.values(), {**VALID, "discount": "50", "owner": "zhang"})
    assert errors == {"discount": "表单中没有「discount」这一项", "owner": "表单中没有「owner」这一项"}


def test_every_error_is_reported_at_once_with_a_summary(ticket):
    with pytest.raises(InvalidInput) as raised:
        validate(ticket.values(), {"fee": "12.5", "result": "x", "visit_on": "soon"})
    error = raised.value
    assert list(error.field_errors) == ["phone", "fee", "visit_on", "result"]
    assert str(error).startswith("表单有 4 处错误：「联系电话」为必填项；「维修费用」必须是整数；")


def test_a_full_submission_becomes_json_ready_task_data_without_touching_inputs(ticket):
    submitted = {"phone": " 010-6552 8899 ", "note": "", "fee": "350", "called_back": "on",
                 "visit_on": "01/06/2024", "result": "unsolved", "ticket_no": "7"}
    current = {"ticket_no": 7, "fee": 100}
    before = copy.deepcopy((submitted, current))
    values = validate(ticket.values(), submitted, current)
    assert values == {"phone": "010-6552 8899", "fee": 350, "called_back": True, "visit_on": "2024-06-01",
                      "result": "unsolved"}
    assert json.loads(json.dumps(values)) == values
    assert (submitted, current) == before

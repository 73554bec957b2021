"""Deploy-time Camunda Modeler dialect: what analysts upload is accepted, translated, or refused clearly."""
from __future__ import annotations

import re
import time

import pytest
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine import clock
from engine.compat import (ProcessBundle, SourceFile, load_bundle, parse_specs, resolve_assignment,
                           start_form)
from engine.compat.juel import Untranslatable, translate_condition
from engine.errors import DeployError

NAMESPACES = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
              'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
              'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"')


def diagram(*nodes: str, process: str = 'id="p" isExecutable="true"', extra: str = "") -> bytes:
    """A process start → nodes… → end, wired in order; `extra` goes into the process as is."""
    ids = ["start", *(re.search(r'id="([^"]+)"', node).group(1) for node in nodes), "end"]
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>\n'
                    for i, (a, b) in enumerate(zip(ids, ids[1:])))
    body = "\n".join(nodes)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NAMESPACES} id="defs" '
            f'targetNamespace="http://bpmn.io/schema/bpmn">\n<bpmn:process {process}>\n'
            f'<bpmn:startEvent id="start"/>\n{body}\n<bpmn:endEvent id="end"/>\n{flows}{extra}'
            f"</bpmn:process>\n</bpmn:definitions>\n").encode()


def deploy(content: bytes, name: str = "a.bpmn", *others: SourceFile):
    return load_bundle([SourceFile(name, content), *others])


def problems(content: bytes, name: str = "a.bpmn", *others: SourceFile) -> list[str]:
    with pytest.raises(DeployError) as raised:
        deploy(content, name, *others)
    return raised.value.problems


def start(bundle: ProcessBundle, data: dict | None = None) -> BpmnWorkflow:
    workflow = BpmnWorkflow(*parse_specs(bundle))
    workflow.get_tasks(state=TaskState.READY)[0].data.update(data or {})
    workflow.do_engine_steps()
    return workflow


def ready(workflow: BpmnWorkflow) -> list[str]:
    return [task.task_spec.name for task in workflow.get_tasks(state=TaskState.READY, manual=True)]


def line_of(content: bytes, needle: str) -> int:
    return next(number for number, line in enumerate(content.decode().splitlines(), 1) if needle in line)


# --- safe XML ---------------------------------------------------------------------------------------

def test_malformed_xml_names_file_line_and_parser_message():
    found = problems(b'<?xml version="1.0"?>\n<bpmn:definitions>\n<oops>\n</bpmn:definitions>', "bad.bpmn")
    assert len(found) == 1
    assert re.match(r"bad\.bpmn:\d+: malformed XML: ", found[0])


def test_a_file_that_is_neither_bpmn_nor_dmn_is_refused():
    assert problems(b"<html><body/></html>", "page.bpmn") == [
        "page.bpmn:1: not a BPMN or DMN file: the root element is <html>, expected bpmn:definitions "
        "(BPMN 2.0) or DMN 1.1-1.3 definitions"]


XXE = f'''<?xml version="1.0"?>
<!DOCTYPE defs [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<bpmn:definitions {NAMESPACES} id="defs" targetNamespace="x">
<bpmn:process id="p" isExecutable="true"><bpmn:documentation>&secret;</bpmn:documentation>
<bpmn:startEvent id="start"/></bpmn:process></bpmn:definitions>'''

BILLION_LAUGHS = '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n' + "".join(
    f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10)
) + f']>\n<bpmn:definitions {NAMESPACES} id="d" targetNamespace="x">&lol9;</bpmn:definitions>'


@pytest.mark.parametrize("content", [XXE.encode(), XXE.replace('"1.0"?>', '"1.0" encoding="UTF-16"?>')
                                     .encode("utf-16"), BILLION_LAUGHS.encode()],
                         ids=["external-entity", "external-entity-utf16", "billion-laughs"])
def test_any_doctype_is_refused_without_resolving_anything(content):
    began = time.perf_counter()
    found = problems(content, "evil.bpmn")
    assert time.perf_counter() - began < 1
    assert len(found) == 1 and found[0].startswith("evil.bpmn:") and "DOCTYPE" in found[0]
    assert "root:" not in found[0] and "lollol" not in found[0]


def test_doctype_text_inside_a_script_is_not_a_doctype():
    content = diagram('<bpmn:scriptTask id="Mail"><bpmn:script><![CDATA[html = "<!DOCTYPE html><p>hi</p>"]]>'
                      "</bpmn:script></bpmn:scriptTask>")
    assert deploy(content).processes["p"].bpmn.content == content


def test_name_and_bytes_pairs_are_accepted_too():
    assert list(load_bundle([("a.bpmn", diagram('<bpmn:userTask id="T"/>'))]).processes) == ["p"]


# --- lint -------------------------------------------------------------------------------------------

def test_service_task_with_java_class_is_refused_with_file_line_and_id():
    content = diagram('<bpmn:serviceTask id="Task_Pay" camunda:class="com.example.Pay"/>')
    assert problems(content, "complaint.bpmn") == [
        f'complaint.bpmn:{line_of(content, "Task_Pay")}: serviceTask "Task_Pay" uses '
        'camunda:class="com.example.Pay" (Java delegate): not supported by this Python engine']


@pytest.mark.parametrize("node, expected", [
    ('<bpmn:userTask id="Start"/>', 'userTask has the id "Start", which SpiffWorkflow reserves'),
    ('<bpmn:serviceTask id="T" camunda:delegateExpression="${bean}"/>', "camunda:delegateExpression"),
    ('<bpmn:sendTask id="T" camunda:expression="${mailer.send()}"/>', 'camunda:expression="${mailer.send()}"'),
    ('<bpmn:serviceTask id="T" camunda:type="external"/>', 'is an external task without camunda:topic'),
    ('<bpmn:serviceTask id="T"><bpmn:extensionElements><camunda:connector><camunda:connectorId>http-'
     'connector</camunda:connectorId></camunda:connector></bpmn:extensionElements></bpmn:serviceTask>',
     'camunda:connector "http-connector"'),
    ('<bpmn:userTask id="T"><bpmn:extensionElements><camunda:taskListener event="create" class="a.B"/>'
     '</bpmn:extensionElements></bpmn:userTask>', 'camunda:taskListener (create) that class="a.B" is Java code'),
    ('<bpmn:task id="T"><bpmn:extensionElements><camunda:executionListener event="end"><camunda:script '
     'scriptFormat="javascript">x = 1</camunda:script></camunda:executionListener></bpmn:extensionElements>'
     '</bpmn:task>', 'camunda:executionListener (end) that has a script in scriptFormat="javascript"'),
    ('<bpmn:scriptTask id="T" scriptFormat="javascript"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>',
     'scriptTask "T" has scriptFormat="javascript"'),
    ('<bpmn:scriptTask id="T" scriptFormat="python"/>', 'scriptTask "T" has no script'),
    ('<bpmn:intermediateCatchEvent id="Wait"><bpmn:timerEventDefinition/></bpmn:intermediateCatchEvent>',
     'intermediateCatchEvent "Wait" has an empty timerEventDefinition'),
    ('<bpmn:intermediateCatchEvent id="W"><bpmn:timerEventDefinition><bpmn:timeCycle>0 0 9 * * ?'
     '</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>', "Quartz cron"),
    ('<bpmn:subProcess id="Sub"><bpmn:task id="inner"/></bpmn:subProcess>',
     'subProcess "Sub" has no start event'),
    ('<bpmn:callActivity id="Call"/>', 'callActivity "Call" has no calledElement'),
    ('<bpmn:callActivity id="Call" calledElement="elsewhere"/>', 'calls process "elsewhere", which is not in'),
    ('<bpmn:businessRuleTask id="Rule"/>', 'businessRuleTask "Rule" has no camunda:decisionRef'),
    ('<bpmn:businessRuleTask id="Rule" camunda:decisionRef="fee"/>', 'needs DMN decision "fee"'),
    ('<bpmn:intermediateThrowEvent id="L"><bpmn:linkEventDefinition name=""/></bpmn:intermediateThrowEvent>',
     'intermediateThrowEvent "L" has a linkEventDefinition without a name'),
    ('<bpmn:serviceTask id="T"><bpmn:extensionElements><zeebe:taskDefinition type="pay"/>'
     '</bpmn:extensionElements></bpmn:serviceTask>', 'uses zeebe:taskDefinition type="pay"'),
    ('<bpmn:userTask id="T"><bpmn:extensionElements><zeebe:assignmentDefinition assignee="ann"/>'
     '</bpmn:extensionElements></bpmn:userTask>', 'zeebe:assignmentDefinition assignee="ann"'),
    ('<bpmn:userTask id="T" camunda:assignee="${task.owner}"/>', "camunda:assignee=${task.owner}"),
    ('<bpmn:userTask id="T"><bpmn:extensionElements><camunda:inputOutput><camunda:inputParameter name="x">'
     '<camunda:script scriptFormat="groovy">a</camunda:script></camunda:inputParameter></camunda:inputOutput>'
     '</bpmn:extensionElements></bpmn:userTask>', 'camunda:script scriptFormat="groovy": only Python runs here'),
    ('<bpmn:scriptTask id="T"><bpmn:script>x = execution.getProcessEngine()</bpmn:script></bpmn:scriptTask>',
     "script uses Camunda's execution.getProcessEngine: not available here"),
    ('<bpmn:intermediateCatchEvent id="M"><bpmn:messageEventDefinition messageRef="nowhere"/>'
     '</bpmn:intermediateCatchEvent>', 'intermediateCatchEvent "M" messageRef="nowhere" names no message'),
    ('<bpmn:boundaryEvent id="B" attachedToRef="start"/>', 'boundaryEvent "B" has no event definition'),
])
def test_unsupported_constructs_are_refused_naming_element_and_construct(node, expected):
    found = problems(diagram(node))
    assert any(expected in problem for problem in found), found
    assert all(re.match(r"a\.bpmn:\d+: ", problem) for problem in found)


def test_process_without_start_event_is_refused():
    content = diagram().replace(b'<bpmn:startEvent id="start"/>', b"")
    assert any('process "p" has no start event' in p for p in problems(content))


def test_every_process_not_executable_is_refused():
    found = problems(diagram('<bpmn:userTask id="T"/>', process='id="p" isExecutable="false"'))
    assert len(found) == 1 and 'isExecutable="false"' in found[0]


def test_all_problems_of_all_files_come_in_one_error():
    found = problems(diagram('<bpmn:serviceTask id="A" camunda:class="x.A"/>'), "one.bpmn",
                     SourceFile("two.bpmn", diagram('<bpmn:scriptTask id="B" scriptFormat="groovy">'
                                                    "<bpmn:script>x</bpmn:script></bpmn:scriptTask>",
                                                    process='id="q" isExecutable="true"')),
                     SourceFile("three.bpmn", b"not xml"))
    assert [p.split(":")[0] for p in found] == ["one.bpmn", "two.bpmn", "three.bpmn"]


def test_spiffworkflow_parse_errors_come_out_as_file_line_problems():
    content = diagram('<bpmn:exclusiveGateway id="Gate"/>', extra=(
        '<bpmn:userTask id="Other"/><bpmn:sequenceFlow id="side" sourceRef="Gate" targetRef="Other"/>'))
    line = line_of(content, '<bpmn:sequenceFlow id="f1"')
    assert problems(content) == [
        f'a.bpmn:{line}: sequenceFlow "f1": SpiffWorkflow rejects it: '
        "Non-default exclusive outgoing sequence flow without condition"]


@pytest.mark.parametrize("content", [
    b"", b"\x00\xff\xfe garbage", b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/"
    b"MODEL'/>", diagram('<bpmn:businessRuleTask id="R"/>').replace(b'id="p" ', b""),
    diagram('<bpmn:userTask id="T"/>', extra='<bpmn:sequenceFlow id="x" sourceRef="T" targetRef="ghost"/>'),
    diagram('<bpmn:boundaryEvent id="B" attachedToRef="nothing"/>'),
    diagram('<bpmn:userTask id="T" camunda:candidateGroups="${a,"/>'),
])
def test_odd_input_only_ever_raises_deploy_error(content):
    with pytest.raises(DeployError) as raised:
        deploy(content)
    assert all(problem.startswith("a.bpmn:") for problem in raised.value.problems)


def test_external_form_reference_is_a_warning_saying_what_is_ignored():
    bundle = deploy(diagram('<bpmn:userTask id="T" camunda:assignee="a" camunda:formKey="embedded:app:forms/x.html"/>'))
    assert bundle.warnings == [f'a.bpmn:5: userTask "T" camunda:formKey="embedded:app:forms/x.html" is an '
                               "external form: ignored; the form is built from camunda:formData"]


def test_engine_only_settings_are_warnings_naming_what_is_ignored():
    content = diagram('<bpmn:userTask id="T" camunda:assignee="a" camunda:asyncBefore="true" camunda:historyTimeToLive="30" '
                      'camunda:mystery="1"><bpmn:extensionElements><camunda:failedJobRetryTimeCycle>R3/PT1M'
                      "</camunda:failedJobRetryTimeCycle></bpmn:extensionElements></bpmn:userTask>")
    assert [w.split(": ", 1)[1] for w in deploy(content).warnings] == [
        'userTask "T" camunda:asyncBefore is ignored: job-executor setting: every step here is committed '
        "as one unit of work",
        'userTask "T" camunda:mystery is not supported here: ignored; remove camunda:mystery (or check its spelling)',
        'userTask "T" camunda:failedJobRetryTimeCycle is ignored: job retries belong to the Camunda job '
        "executor"]


def test_data_objects_are_documentation_and_variables_stay_in_task_data():
    content = diagram('<bpmn:userTask id="T"><bpmn:dataOutputAssociation id="out"><bpmn:targetRef>Ref'
                      "</bpmn:targetRef></bpmn:dataOutputAssociation></bpmn:userTask>", '<bpmn:userTask id="U"/>',
                      extra='<bpmn:dataObject id="Invoice"/><bpmn:dataObjectReference id="Ref" '
                            'dataObjectRef="Invoice"/>')
    bundle = deploy(content)
    assert any('userTask "T" dataOutputAssociation with "Ref" is documentation only here: ignored' in w
               for w in bundle.warnings)
    workflow = start(bundle.processes["p"])
    (task,) = workflow.get_tasks(state=TaskState.READY, manual=True)
    task.data["Invoice"] = {"total": 5}
    task.run()
    workflow.do_engine_steps()
    assert workflow.get_tasks(state=TaskState.READY, manual=True)[0].data["Invoice"] == {"total": 5}


def test_data_stores_are_documentation():
    content = diagram('<bpmn:userTask id="T" camunda:assignee="a"><bpmn:property id="Slot" name="__targetRef_placeholder"/>'
                      '<bpmn:dataInputAssociation id="in"><bpmn:sourceRef>StoreRef</bpmn:sourceRef>'
                      "<bpmn:targetRef>Slot</bpmn:targetRef></bpmn:dataInputAssociation></bpmn:userTask>",
                      extra='<bpmn:dataStoreReference id="StoreRef" dataStoreRef="Archive"/>').replace(
        b"<bpmn:process ", b'<bpmn:dataStore id="Archive" name="Archive"/>\n<bpmn:process ')
    bundle = deploy(content)
    assert [w.split(": ", 1)[1] for w in bundle.warnings] == [
        'userTask "T" dataInputAssociation with "StoreRef" is documentation only here: ignored (variables '
        "stay in the task data)", 'dataStore "Archive" is documentation only here: ignored']
    assert ready(start(bundle.processes["p"])) == ["T"]


def test_feel_condition_is_refused():
    content = diagram('<bpmn:exclusiveGateway id="G" default="f1"/>', extra=(
        '<bpmn:sequenceFlow id="feel" sourceRef="G" targetRef="end"><bpmn:conditionExpression>= x &gt; 1'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>"))
    assert any('sequenceFlow "feel" conditionExpression = x > 1 is a FEEL expression' in p
               for p in problems(content))


# --- JUEL -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("juel, python", [
    ("${approved}", "approved"),
    ("${not approved}", "not approved"),
    ("${!approved}", "not approved"),
    ("#{amount > 1000 && vip}", "(amount > 1000) and vip"),
    ("${a eq 'x' or b ne \"y\"}", "(a == 'x') or (b != 'y')"),
    ("${a lt 1 and b le 2 and c gt 3 and d ge 4}", "(((a < 1) and (b <= 2)) and (c > 3)) and (d >= 4)"),
    ("${empty comment}", "comment in (None, '', [], {})"),
    ("${!empty customer.phone}", "not (customer['phone'] in (None, '', [], {}))"),
    ("${level == null || level == true || level == false}", "((level == None) or (level == True)) or "
                                                          "(level == False)"),
    ("${(a + 2) * 3 >= 10.5}", "((a + 2) * 3) >= 10.5"),
    ("${order.items[0].price > 5}", "order['items'][0]['price'] > 5"),
])
def test_juel_condition_translation(juel, python):
    assert translate_condition(juel) == python


@pytest.mark.parametrize("juel, reason", [
    ("${execution.setVariable('x', 1)}", "execution.setVariable(…) cannot run here"),
    ("${task.assignee == 'a'}", "'task' is provided by the Camunda engine"),
    ("${service.check(order)}", "method call .check(…)"),
    ("${today() > due}", "function call today(…)"),
    ("${continue == true}", "'continue' is not usable in Python"),
    ("${a} ${b}", "a single ${…} expression"),
])
def test_untranslatable_juel_says_why(juel, reason):
    with pytest.raises(Untranslatable, match=re.escape(reason)):
        translate_condition(juel)


def branching(condition: str) -> bytes:
    return diagram('<bpmn:exclusiveGateway id="G" default="to_small"/>', extra=(
        '<bpmn:userTask id="Big"/><bpmn:userTask id="Small"/>'
        f'<bpmn:sequenceFlow id="to_big" sourceRef="G" targetRef="Big"><bpmn:conditionExpression>{condition}'
        '</bpmn:conditionExpression></bpmn:sequenceFlow>'
        '<bpmn:sequenceFlow id="to_small" sourceRef="G" targetRef="Small"/>')).replace(
        b'<bpmn:sequenceFlow id="f1" sourceRef="G" targetRef="end"/>', b"")


@pytest.mark.parametrize("condition", ["${amount &gt; 1000 &amp;&amp; customer.vip}",
                                       "amount &gt; 1000 and customer['vip']"], ids=["juel", "python"])
@pytest.mark.parametrize("amount, vip, expected", [(2000, True, ["Big"]), (2000, False, ["Small"]),
                                                   (10, True, ["Small"])])
def test_gateway_conditions_run_as_modelled(condition, amount, vip, expected):
    bundle = deploy(branching(condition)).processes["p"]
    assert ready(start(bundle, {"amount": amount, "customer": {"vip": vip}})) == expected


def test_juel_translation_is_reported_and_untranslatable_juel_refused():
    assert any("${amount > 1000 && customer.vip} is JUEL; it runs as the Python expression: (amount > 1000) "
               "and customer['vip']" in note for note in deploy(branching(
                   "${amount &gt; 1000 &amp;&amp; customer.vip}")).translations)
    found = problems(branching("${execution.getVariableTyped('amount') &gt; 5}"))
    assert any('sequenceFlow "to_big" conditionExpression ${execution.getVariableTyped(\'amount\') > 5} cannot '
               "be translated" in p for p in found)


# --- timers -----------------------------------------------------------------------------------------

NOW = "2026-03-01T00:00:00+00:00"


def timer_process(kind: str, text: str) -> bytes:
    return diagram(f'<bpmn:intermediateCatchEvent id="Wait"><bpmn:timerEventDefinition><bpmn:{kind}>{text}'
                   f"</bpmn:{kind}></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>")


@pytest.mark.parametrize("kind, text, due", [
    ("timeDuration", "PT15M", "2026-03-01T00:15:00+00:00"),
    ("timeDuration", "P1D", "2026-03-02T00:00:00+00:00"),
    ("timeDuration", " P1W ", "2026-03-08T00:00:00+00:00"),
    ("timeDuration", '"PT0.25S"', "2026-03-01T00:00:00.250000+00:00"),
    ("timeDuration", "${wait}", "2026-03-01T00:05:00+00:00"),
    ("timeDuration", "PT${minutes}M", "2026-03-01T00:07:00+00:00"),
    ("timeDate", "2050-11-14T11:12:22", "2050-11-14T11:12:22"),  # no offset: clock.local_tz() on both sides
    ("timeDate", "2050-11-14T11:12:22+02:00", "2050-11-14T09:12:22+00:00"),
    ("timeDate", "2050-11-14T11:12:22Z", "2050-11-14T11:12:22+00:00"),
])
def test_iso_timers_wait_until_the_right_time(kind, text, due):
    bundle = deploy(timer_process(kind, text)).processes["p"]
    with clock.frozen(NOW):
        workflow = start(bundle, {"wait": "PT5M", "minutes": 7})
    (event,) = workflow.waiting_events()
    assert clock.parse_time(event.value) == clock.parse_time(due)


@pytest.mark.parametrize("text, next_due", [
    ("R3/PT1H", "2026-03-01T01:00:00+00:00"),
    ("R/P1D", "2026-03-02T00:00:00+00:00"),
    ("R/2026-03-01T12:00:00+00:00/P1W", "2026-03-01T12:00:00+00:00"),
])
def test_cycle_timers_wait_for_the_next_repetition(text, next_due):
    content = diagram('<bpmn:userTask id="Work"/>', extra=(
        '<bpmn:boundaryEvent id="Remind" attachedToRef="Work" cancelActivity="false"><bpmn:timerEventDefinition>'
        f'<bpmn:timeCycle>{text}</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
        '<bpmn:endEvent id="reminded"/><bpmn:sequenceFlow id="r" sourceRef="Remind" targetRef="reminded"/>'))
    with clock.frozen(NOW):
        workflow = start(deploy(content).processes["p"])
    assert [(e.name, e.value) for e in workflow.waiting_events()] == [("Remind", next_due)]


def test_timer_start_is_handed_to_the_scheduler_translated():
    content = diagram('<bpmn:userTask id="Report"/>').replace(b'<bpmn:startEvent id="start"/>', (
        b'<bpmn:startEvent id="start"><bpmn:timerEventDefinition><bpmn:timeCycle>R/P1D</bpmn:timeCycle>'
        b"</bpmn:timerEventDefinition></bpmn:startEvent>"))
    assert deploy(content).processes["p"].timer_start == "'R/P1D'"


@pytest.mark.parametrize("kind, text, reason", [
    ("timeDuration", "PT15X", "not a valid ISO 8601 duration"),
    ("timeDate", "PT15M", "use timeDuration or timeCycle"),
    ("timeCycle", "PT15M", "not a repeating interval"),
    ("timeDuration", "=duration", "FEEL"),
    ("timeDuration", "wait for it", "neither ISO 8601, JUEL, nor a Python expression"),
    ("timeDuration", "", "has no value"),
])
def test_bad_timers_are_refused_naming_the_event(kind, text, reason):
    found = problems(timer_process(kind, text))
    assert any(f'intermediateCatchEvent "Wait" {kind}' in p and reason in p for p in found), found


# --- assignment, forms ---------------------------------------------------------------------------------

ASSIGNED = diagram(
    '<bpmn:userTask id="Review" camunda:assignee="${reviewer}" camunda:candidateUsers="ann, bob ,"'
    ' camunda:candidateGroups="service-desk, ${region}_leads" camunda:dueDate="${dateTime().plusDays(2).toDate()}"'
    ' camunda:followUpDate="2026-03-05T09:00:00" camunda:priority="80">'
    '<bpmn:extensionElements><camunda:properties><camunda:property name="sla" value="gold"/>'
    "</camunda:properties></bpmn:extensionElements></bpmn:userTask>")
EXPECTED_CAMUNDA = {"assignee": "${reviewer}", "candidateUsers": ["ann", "bob"],
                    "candidateGroups": ["service-desk", "${str(region) + '_leads'}"], "dueDate": "P2D",
                    "followUpDate": "2026-03-05T09:00:00", "priority": "80"}


def test_assignment_lands_in_extensions_and_survives_serialization():
    workflow = start(deploy(ASSIGNED).processes["p"])
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))
    restored = serializer.deserialize_json(serializer.serialize_json(workflow))
    for wf in (workflow, restored):
        (task,) = wf.get_tasks(state=TaskState.READY, manual=True)
        assert task.task_spec.extensions == {"sla": "gold", "camunda": EXPECTED_CAMUNDA}


def test_resolve_assignment_evaluates_expressions_against_task_data():
    evaluate = lambda expression, data: eval(expression, {}, dict(data))  # noqa: E731
    data = {"reviewer": "carol", "region": "north", "team": ["dan", "erin"], "extra": "fay, gus"}
    assert resolve_assignment("${reviewer}", data, evaluate) == ["carol"]
    assert resolve_assignment(EXPECTED_CAMUNDA["candidateGroups"], data, evaluate) == [
        "service-desk", "north_leads"]
    assert resolve_assignment("ann, ${team}, ${extra}, ann", data, evaluate) == [
        "ann", "dan", "erin", "fay", "gus"]
    assert resolve_assignment("${None}", data, evaluate) == []
    assert resolve_assignment(None, data, evaluate) == []


FORM = ('<bpmn:extensionElements><camunda:formData>'
        '<camunda:formField id="amount" label="金额" type="long" defaultValue="5">'
        '<camunda:properties><camunda:property id="unit" value="元"/></camunda:properties>'
        '<camunda:validation><camunda:constraint name="required"/><camunda:constraint name="min" config="1"/>'
        '</camunda:validation></camunda:formField>'
        '<camunda:formField id="channel" label="渠道" type="enum"><camunda:value id="phone" name="电话"/>'
        '<camunda:value id="web" name="网站"/></camunda:formField>'
        "</camunda:formData></bpmn:extensionElements>")


def describe_form(form) -> list:
    return [(f.id, f.label, f.type, f.default_value, [(p.id, p.value) for p in f.properties],
             [(v.name, v.config) for v in f.validation], [(o.id, o.name) for o in getattr(f, "options", [])])
            for f in form.fields]


FORM_FIELDS = [("amount", "金额", "long", "5", [("unit", "元")], [("required", None), ("min", "1")], []),
               ("channel", "渠道", "enum", None, [], [], [("phone", "电话"), ("web", "网站")])]


def test_form_data_is_read_without_form_key():
    workflow = start(deploy(diagram(f'<bpmn:userTask id="Ask">{FORM}</bpmn:userTask>')).processes["p"])
    (task,) = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert describe_form(task.task_spec.form) == FORM_FIELDS


def test_start_form_and_initiator_are_kept():
    content = diagram('<bpmn:userTask id="Next"/>').replace(b'<bpmn:startEvent id="start"/>', (
        f'<bpmn:startEvent id="start" camunda:initiator="starter">{FORM}</bpmn:startEvent>'.encode()))
    bundle = deploy(content).processes["p"]
    assert describe_form(bundle.start_form) == FORM_FIELDS
    spec, _ = parse_specs(bundle)
    assert describe_form(start_form(spec)) == FORM_FIELDS
    assert spec.task_specs["start"].extensions == {"camunda": {"initiator": "starter"}}
    plain = deploy(diagram('<bpmn:userTask id="Next"/>')).processes["p"]
    assert plain.start_form is None and start_form(parse_specs(plain)[0]) is None


# --- DMN, call activities, bundles ---------------------------------------------------------------------

DMN = b'''<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="fees" name="Fees" namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="other" name="Unused"><decisionTable id="t0"><input id="i0"><inputExpression id="x0" typeRef="string"><text>a</text></inputExpression></input><output id="o0" name="b" typeRef="string"/></decisionTable></decision>
  <decision id="fee_level" name="Fee level">
    <decisionTable id="t1" hitPolicy="UNIQUE">
      <input id="i1" label="Amount"><inputExpression id="x1" typeRef="number"><text>amount</text></inputExpression></input>
      <output id="o1" label="Level" name="level" typeRef="string"/>
      <rule id="r1"><inputEntry id="e1"><text>&lt; 1000</text></inputEntry><outputEntry id="y1"><text>"low"</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="e2"><text>&gt;= 1000</text></inputEntry><outputEntry id="y2"><text>"high"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>'''


def test_business_rule_task_finds_its_decision_in_another_file_of_the_deployment():
    content = diagram('<bpmn:businessRuleTask id="Rate" camunda:decisionRef="fee_level"/>',
                      '<bpmn:userTask id="Show"/>')
    bundle = deploy(content, "fee.bpmn", SourceFile("rules/fees.dmn", DMN)).processes["p"]
    assert [f.name for f in bundle.dmn] == ["rules/fees.dmn"]
    workflow = start(bundle, {"amount": 5000})
    assert workflow.get_tasks(state=TaskState.READY, manual=True)[0].data["level"] == "high"


def test_a_feel_syntax_error_in_a_cell_is_refused_naming_decision_rule_and_column():
    broken = DMN.replace(b"<text>&lt; 1000</text>", b"<text>[0..999</text>")
    rule_task = diagram('<bpmn:businessRuleTask id="Rate" camunda:decisionRef="fee_level"/>')
    found = problems(rule_task, "fee.bpmn", SourceFile("fees.dmn", broken))
    assert found == ['fees.dmn:8: decision "fee_level", rule 1, column "Amount": input entry \'[0..999\': '
                     "the text ends too early (expected ')' or '[' or ']')"]


CALLEE = diagram('<bpmn:userTask id="Inner"/>', process='id="sub" isExecutable="true"')


def test_call_activity_deploys_with_its_callee_file():
    caller = diagram('<bpmn:callActivity id="Call" calledElement="sub"/>')
    bundle = deploy(caller, "main.bpmn", SourceFile("sub.bpmn", CALLEE))
    assert [f.name for f in bundle.processes["p"].callees] == ["sub.bpmn"]
    assert ready(start(bundle.processes["p"])) == ["Inner"]


def test_callee_must_be_executable():
    caller = diagram('<bpmn:callActivity id="Call" calledElement="sub"/>')
    found = problems(caller, "main.bpmn", SourceFile("sub.bpmn", CALLEE.replace(
        b'isExecutable="true"', b'isExecutable="false"')))
    assert 'callActivity "Call" calls process "sub", which has isExecutable="false"' in found[0]


def test_content_hash_ignores_upload_order_and_follows_content():
    dmn1, dmn2 = SourceFile("a.dmn", DMN), SourceFile("b.dmn", DMN.replace(b'"low"', b'"small"'))
    bundle = lambda bpmn, dmn: ProcessBundle("p", None, SourceFile("a.bpmn", bpmn), dmn, [], [], None)  # noqa: E731
    first, second, changed = bundle(b"x", [dmn1, dmn2]), bundle(b"x", [dmn2, dmn1]), bundle(b"y", [dmn2])
    assert first.content_hash() == second.content_hash() != changed.content_hash()


def test_link_events_continue_at_the_catching_link():
    content = diagram('<bpmn:intermediateThrowEvent id="Go"><bpmn:linkEventDefinition name="page2"/>'
                      "</bpmn:intermediateThrowEvent>", extra=(
                          '<bpmn:intermediateCatchEvent id="Page2"><bpmn:linkEventDefinition name="page2"/>'
                          '</bpmn:intermediateCatchEvent><bpmn:userTask id="After"/>'
                          '<bpmn:sequenceFlow id="c" sourceRef="Page2" targetRef="After"/>')).replace(
        b'<bpmn:sequenceFlow id="f1" sourceRef="Go" targetRef="end"/>', b"")
    assert ready(start(deploy(content).processes["p"])) == ["After"]


def test_starter_groups_come_from_the_process():
    content = diagram('<bpmn:userTask id="T"/>',
                      process='id="p" isExecutable="true" camunda:candidateStarterGroups="desk, leads"')
    assert deploy(content).processes["p"].start_groups == ["desk", "leads"]

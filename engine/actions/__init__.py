"""The workflow actions: the one definition of each thing that moves a case.

Each action is a plain function on a loaded ``BpmnWorkflow`` (and what its event records): no
database, no clock of its own, no access checks. The live path calls it inside a unit of work
(``engine.services``: load → check → **act** → derive → record → save); ``engine.audit.replay``
calls the very same function on a workflow rebuilt from the events, under the clock of the event.
So a change in how an action runs is made once, and replay cannot drift from what happened.

| action            | function                | its event                          |
| ----------------- | ----------------------- | ---------------------------------- |
| start a case      | ``start`` + ``proceed`` | ``instance_started``               |
| start by a timer  | ``start`` + ``start_by_timer`` | ``instance_started`` + ``timer_fired`` (with ``occurrences``) |
| complete a task   | ``complete``            | ``task_completed``                 |
| fire due timers   | ``fire_timers``         | ``timer_fired``                    |
| cancel a case     | ``cancel``              | ``instance_cancelled``             |
| change a task's due time | ``change_due``   | ``task_due_changed``               |
| give a task to someone | ``reassign`` (runs its assignment/update listeners) | ``task_claimed``, ``task_unclaimed``, ``task_delegated``, ``task_assigned`` |
| correlate a message, send a signal, start by either, enter by hand | see ``engine.actions.events`` | ``message_correlated``, ``signal_received`` |
| complete an external task | ``external.complete`` | ``external_task_completed``    |
| BPMN error of an external task | ``external.throw_bpmn_error`` | ``external_task_bpmn_error`` |
| move a case to another version | ``migrate`` (``migration.plan`` is its dry run) | ``instance_migrated`` |

Adding an action (correlate a message, send a signal, complete an external task): write one
function in a module of this package, taking the workflow and exactly what its event will record,
and export it here; the service calls it after its checks, and replay's handler for that event
calls it with the event's payload. Whatever SpiffWorkflow needs worked around for it (an
internal-data write, a second engine pass) belongs inside that function, with its own test in
``tests/test_actions.py``.
"""
from engine.actions.cases import cancel, proceed, start
from engine.actions.events import correlate, enter, send_signal, start_by_event
from engine.actions.migration import migrate
from engine.actions.tasks import change_due, complete, reassign
from engine.actions.timers import fire_timers, start_by_timer

__all__ = ["cancel", "change_due", "complete", "correlate", "enter", "fire_timers", "migrate", "proceed", "reassign", "send_signal", "start",
           "start_by_event", "start_by_timer"]

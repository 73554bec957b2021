"""``bpmdesk correlate`` and ``bpmdesk signal``: messages and signals from outside, as Camunda's
REST ``/message`` and ``/signal`` deliver them (see engine/services/events.py)."""
from __future__ import annotations

import click

from engine import services
from engine.cli import _actor, _db, _parse_data, main


def _echo(deliveries: list[services.Delivery]) -> None:
    for item in deliveries:
        verb = "started" if item.started else "delivered to"
        click.echo(f"{verb} case {item.instance_id} at {item.element_id}")


@main.command()
@click.argument("message_name")
@click.option("--business-key", help="only the case with this business key")
@click.option("--correlate", "correlation", help="process variables the case must have, as a JSON object")
@click.option("--data", help="variables the message carries, as a JSON object")
@click.option("--all", "all_matching", is_flag=True, help="every matching case, not exactly one")
@click.option("--as", "actor", help="who sends it (recorded in the history)")
def correlate(message_name: str, business_key: str | None, correlation: str | None, data: str | None,
              all_matching: bool, actor: str | None) -> None:
    """Deliver a message to the one case waiting for it, or start a case at a message start event."""
    _echo(services.correlate_message(_db(), _actor(actor), message_name, business_key,
                                     _parse_data(correlation, "--correlate"), _parse_data(data), all_matching))


@main.command()
@click.argument("signal_name")
@click.option("--data", help="variables the signal carries, as a JSON object")
@click.option("--as", "actor", help="who sends it (recorded in the history)")
def signal(signal_name: str, data: str | None, actor: str | None) -> None:
    """Broadcast a signal to every waiting case and every signal start event."""
    deliveries = services.send_signal(_db(), _actor(actor), signal_name, _parse_data(data))
    _echo(deliveries)
    if not deliveries:
        click.echo(f"signal {signal_name}: no case waits for it, no process starts with it")

from pydantic import TypeAdapter

from domain.channel_identity import is_stand_in, stand_in_address
from domain.ticket_fields import Channel, Email


def test_a_slack_user_and_a_phone_number_get_stable_addresses_the_api_accepts():
    slack = stand_in_address(Channel.SLACK, "U0ADA")
    sms = stand_in_address(Channel.SMS, "+1 (555) 123-4567")

    assert slack == "slack.u0ada@no-mail.example"
    assert sms == "sms.15551234567@no-mail.example"
    assert TypeAdapter(Email).validate_python(sms) == sms
    assert is_stand_in(slack) and is_stand_in(sms.upper())
    assert not is_stand_in("ada@example.com") and not is_stand_in(None)

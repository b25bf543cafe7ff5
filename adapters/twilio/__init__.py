"""Twilio: inbound SMS webhooks (their signature) and outbound messages (the Messages API)."""

# Where Twilio calls the desk: a number's "A message comes in" webhook, and the status
# callback each reply names (under HELPDESK_PUBLIC_URL).
SMS_INBOUND_PATH = "/api/v1/channels/sms/twilio"
SMS_STATUS_PATH = "/api/v1/channels/sms/twilio/status"

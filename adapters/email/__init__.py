"""Email channel: MIME parsing, automatic-mail classification and reply splitting."""

"""What the listeners share: the request lifecycle, the click machinery, every record of a contact, thread posts."""

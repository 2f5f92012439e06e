"""Critical values (危急值): declared by a reader, phoned through, notified, acknowledged."""

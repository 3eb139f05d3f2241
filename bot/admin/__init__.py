"""The admin's tools: texts edited from the admin room, an audit log, status."""

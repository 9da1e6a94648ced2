"""Request middleware: security, CSRF, audit logging, headers."""

"""Owner notifications: an outbox written with the action that causes it, delivered later by SMTP or webhook."""

"""Webhook delivery: a local receiver and the delivery benchmark."""

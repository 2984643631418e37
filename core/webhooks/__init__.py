"""Outgoing webhooks (Standard Webhooks): endpoints managed by admins, an outbox of deliveries
written in the booking's own transaction, a sender that signs and posts them with retries, and a
delivery log kept for WEBHOOK_LOG_DAYS. docs/webhooks.md describes the payloads."""

"""Google Calendar two-way sync: appointments pushed as events (push), Google-only events pulled
as busy blocks and Google's edits of our events turned into queue items (pull), one pass per
calendar under a lease (sync), the fixing actions of a conflict (fixes), the admin's view
(status). The only package that imports Google's client."""

"""Settings: the admin panel a business runs itself on.

Locations and rooms (admins), providers with their locations, weekly hours and time off,
appointment types (managers in their locations, admins everywhere), bulk changes previewed then
confirmed in one transaction, and the whole configuration as one YAML file. Every service checks
the permission and the location scope, validates with sentences a manager can act on, and audits
the change with its before and after in the change's own transaction. Nothing that appointments
refer to is ever deleted: it is deactivated, hidden by default, and restorable.
"""

"""The audit trail: every action on a credential, as a tamper-evident, queryable record.

    log = AuditLog.open(folder, key)          # key: LEAKSTOP_AUDIT_KEY; None: a plain chain
    log.append(Action.SECRET_READ, "billing/api-key", context, details={...})
    for record in log.query(...): ...
    log.verify()

Audit code never imports the scanner or the rotator; they import it.
"""

-- Every submission received for one programme and period (all versions, all outcomes),
-- newest first within a unit: the status page and the report's status table read it.
SELECT s.id,
       s.unit_code,
       s.file_name,
       s.status,
       s.version,
       s.is_current,
       s.late,
       s.received_at,
       s.errors,
       s.warnings,
       s.rules_run,
       s.rules_failed,
       s.receipt_path,
       s.return_reason
FROM submissions s
WHERE s.programme = :programme
  AND s.period = :period
ORDER BY s.unit_code, s.received_at DESC, s.id DESC

-- Warnings kept with the current accepted submissions.
SELECT s.unit_code, i.rule, i.sheet, i.cell, i.value, i.message
FROM submissions s
JOIN submission_issues i ON i.submission_id = s.id
WHERE s.programme = :programme AND s.period = :period AND s.is_current = :true
  AND i.severity = 'warning'
ORDER BY s.unit_code, i.sheet, i.cell

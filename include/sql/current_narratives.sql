SELECT s.unit_code, n.key, n.text, n.cell
FROM submissions s
JOIN narratives n ON n.submission_id = s.id
WHERE s.programme = :programme AND s.period = :period AND s.is_current = :true
ORDER BY n.key, s.unit_code

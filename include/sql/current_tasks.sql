-- Task results and narratives (difficulties, recommendations, plans) of current submissions.
SELECT s.unit_code, t.task_code, t.task_group, t.task_text, t.status, t.description, t.cell
FROM submissions s
JOIN task_results t ON t.submission_id = s.id
WHERE s.programme = :programme AND s.period = :period AND s.is_current = :true
ORDER BY t.task_group, s.unit_code, t.task_code

-- The current values of one unit for one period (for year-on-year checks).
SELECT v.indicator, v.row_key, v.col_key, v.value
FROM submissions s
JOIN fact_values v ON v.submission_id = s.id
WHERE s.programme = :programme
  AND s.period = :period
  AND s.unit_code = :unit
  AND s.is_current = :true

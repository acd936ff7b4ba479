-- Every number of the current (newest accepted, not returned) submission of each unit
-- for one programme and period, with its unit and its source file and cell.
SELECT s.unit_code,
       u.name      AS unit_name,
       u.kind      AS unit_kind,
       v.indicator,
       v.row_key,
       v.col_key,
       v.value,
       v.sheet,
       v.cell,
       v.computed,
       s.id        AS submission_id,
       s.file_name,
       s.checksum
FROM submissions s
JOIN fact_values v ON v.submission_id = s.id
JOIN units u ON u.programme = s.programme
            AND u.code = s.unit_code
            AND u.valid_from = s.unit_valid_from
WHERE s.programme = :programme
  AND s.period = :period
  AND s.is_current = :true
ORDER BY s.unit_code, v.indicator, v.row_key, v.col_key

-- The current values of some indicators over several periods, with the unit (code and
-- validity) that reported them: the input of the series across the 2025 reorganisation
-- (baocao.series attributes a former unit's figures to its successors).
SELECT s.period,
       s.unit_code,
       s.unit_valid_from,
       u.name      AS unit_name,
       u.kind      AS unit_kind,
       v.indicator,
       v.row_key,
       v.col_key,
       v.value
FROM submissions s
JOIN fact_values v ON v.submission_id = s.id
JOIN units u ON u.programme = s.programme
            AND u.code = s.unit_code
            AND u.valid_from = s.unit_valid_from
WHERE s.programme = :programme
  AND s.period IN :periods
  AND v.indicator IN :indicators
  AND s.is_current = :true
ORDER BY s.period, s.unit_code, v.indicator, v.row_key, v.col_key

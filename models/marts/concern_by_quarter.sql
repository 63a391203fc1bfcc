-- Concern reports per municipality, quarter, age band and reason (raw counts: suppressed at publication).
-- @partitioned: municipality_code, year, quarter
select
    municipality_code,
    year,
    quarter,
    quarter_seq,
    age_band,
    reason,
    sum(reports)::bigint as reports
from staging.stg_concern_reports
group by all
order by all

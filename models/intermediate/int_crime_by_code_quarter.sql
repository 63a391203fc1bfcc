-- Reported crimes per municipality, area, quarter and crime code: the grain indicator filters work on.
-- @partitioned: municipality_code, year, quarter
select
    municipality_code,
    coalesce(area_code, '') as area_code,
    year,
    quarter,
    quarter_seq,
    crime_code,
    sum(crime_count)::bigint as crimes
from staging.stg_crime_reports
group by all

-- Reported crimes per municipality, area, quarter and category (registration date; Brå-style basis).
-- counts_as_crime = false marks codes Brå does not count as crimes (e.g. wildlife accidents).
-- @partitioned: municipality_code, year, quarter
select
    c.municipality_code,
    coalesce(c.area_code, '') as area_code,
    c.year,
    c.quarter,
    c.quarter_seq,
    coalesce(cc.level2, 'Okänd brottskod') as category,
    coalesce(cc.counts_as_crime, true) as counts_as_crime,
    sum(c.crime_count)::bigint as crimes
from staging.stg_crime_reports as c
left join ref.crime_codes as cc on cc.crime_code = c.crime_code
group by all
order by all

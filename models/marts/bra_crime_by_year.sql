-- Brå's reported crime per geography (municipality, county, country), year and indicator: count and rate.
-- Brå counts by the municipality where the crime was committed (its official basis).
with indicators as (
    select * from staging.stg_bra_indicators where indicator_kind = 'anmalda_brott'
)

select
    geography_code,
    any_value(geography_level) as geography_level,
    any_value(geography_name) as geography_name,
    year,
    variable,
    max(value) filter (where measure = 'count') as crimes,
    max(value) filter (where measure = 'per_100k') as per_100k
from indicators
group by geography_code, year, variable
order by all

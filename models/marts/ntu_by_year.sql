-- Brå's NTU survey shares per geography, year and item: share with its 95 % limits and the respondents (n).
with indicators as (
    select * from staging.stg_bra_indicators where indicator_kind = 'ntu'
),

respondents as (
    select geography_code, year, max(value) as n
    from indicators
    where measure = 'n'
    group by all
),

items as (
    select
        geography_code,
        any_value(geography_level) as geography_level,
        any_value(geography_name) as geography_name,
        year,
        variable,
        max(unit) filter (where measure = 'share') as definition,
        max(value) filter (where measure = 'share') as share_percent,
        max(value) filter (where measure = 'ci_low') as ci_low_percent,
        max(value) filter (where measure = 'ci_high') as ci_high_percent
    from indicators
    where measure <> 'n'
    group by geography_code, year, variable
)

select
    i.*,
    r.n::bigint as n
from items as i
left join respondents as r on r.geography_code = i.geography_code and r.year = i.year
order by all

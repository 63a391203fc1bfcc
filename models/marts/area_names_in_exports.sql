-- Area names as the police export writes them (Region Dalarna's "regsonamn": a DeSO's RegSO name with a number),
-- the most common one per area code. The pages name a DeSO by it (SCB's DeSO file has codes only).
with named as (
    select area_code, area_name, count(*) as n
    from staging.stg_crime_reports
    where area_name is not null and area_code is not null
    group by all
)

select area_code, area_name
from named
qualify row_number() over (partition by area_code order by n desc, area_name) = 1
order by area_code

-- Reported crimes (counts_as_crime) per RegSO and year: the police export's DeSO rows rolled up by SCB's
-- DeSO -> RegSO key (the areas feed's parent_code). The RegSO's name comes from the export's area names: Region
-- Dalarna's "regsonamn" names each DeSO as its RegSO's name plus a number ("Kupolen-Norra Backa-Hagalund-Ringen 1"),
-- so the name without the number, the most common one per RegSO, names the RegSO. Without a name the code is shown.
-- quarters: how many quarters of the year the municipality has crime rows for (4 = a complete year).
-- population: the year's population of the RegSO's DeSOs (sum), where every one of them has a figure.
-- @materialized: table
with deso as (
    select area_code as deso_code, parent_code as regso_code, municipality_code
    from staging.stg_areas
    where area_type = 'deso' and parent_code is not null
),

stems as (
    select d.regso_code, regexp_replace(trim(c.area_name), '\s+[0-9]+$', '') as stem, count(*) as n
    from staging.stg_crime_reports as c
    join deso as d on d.deso_code = c.area_code
    where c.area_name is not null
    group by all
),

names as (
    select regso_code, stem as regso_name
    from stems
    qualify row_number() over (partition by regso_code order by n desc, stem) = 1
),

crimes as (
    select d.municipality_code, d.regso_code, q.year, sum(q.crimes)::bigint as crimes
    from marts.crime_by_quarter as q
    join deso as d on d.deso_code = q.area_code and d.municipality_code = q.municipality_code
    where q.counts_as_crime
    group by all
),

quarters as (
    select municipality_code, year, count(distinct quarter) as quarters
    from marts.crime_by_quarter
    group by all
),

population as (
    select d.regso_code, p.year, sum(p.population) as population, count(p.population) = count(*) as complete
    from deso as d
    join marts.population_by_year as p on p.area_code = d.deso_code
    group by all
)

select
    c.municipality_code,
    c.regso_code,
    coalesce(n.regso_name, c.regso_code) as regso_name,
    n.regso_name is not null as named,
    c.year,
    q.quarters,
    c.crimes,
    case when p.complete then p.population end as population
from crimes as c
left join names as n on n.regso_code = c.regso_code
left join quarters as q on q.municipality_code = c.municipality_code and q.year = c.year
left join population as p on p.regso_code = c.regso_code and p.year = c.year
order by all

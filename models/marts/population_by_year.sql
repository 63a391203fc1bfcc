-- Population per municipality (area_code = '') and area and year: total and children 0–17.
-- Per area: the sum of its age bands, or its 'total' row when the source has no bands.
-- The municipality total is the source's own municipality row (area_code = municipality code) where there is one
-- (districts may not cover the whole municipality), else the sum of its areas.
-- carried_forward: every area has exactly last year's figure (a producer copying a year forward); such a year is
-- not final and must not be trusted as a new measurement.
with pop as (
    select * from staging.stg_population
),

areas as (
    select
        municipality_code,
        area_code,
        year,
        coalesce(sum(population) filter (where age_band <> 'total'),
                 sum(population) filter (where age_band = 'total')) as population,
        sum(population) filter (where age_band = '0-17') as population_0_17,
        bool_and(is_final) as is_final
    from pop
    group by all
),

carried as (
    select
        cur.municipality_code,
        cur.year,
        count(*) >= 3 and bool_and(cur.population = prev.population) as carried_forward
    from areas as cur
    inner join areas as prev
        on prev.municipality_code = cur.municipality_code
        and prev.area_code = cur.area_code
        and prev.year = cur.year - 1
    group by all
),

municipality as (
    select
        municipality_code,
        '' as area_code,
        year,
        coalesce(max(population) filter (where area_code = municipality_code),
                 sum(population) filter (where area_code <> municipality_code)) as population,
        coalesce(max(population_0_17) filter (where area_code = municipality_code),
                 sum(population_0_17) filter (where area_code <> municipality_code)) as population_0_17,
        bool_and(is_final) as is_final
    from areas
    group by all
),

combined as (
    select * from areas where area_code <> municipality_code
    union all
    select * from municipality
)

select
    c.municipality_code,
    c.area_code,
    c.year,
    c.population::bigint as population,
    c.population_0_17::bigint as population_0_17,
    coalesce(k.carried_forward, false) as carried_forward,
    c.is_final and not coalesce(k.carried_forward, false) as is_final
from combined as c
left join carried as k on k.municipality_code = c.municipality_code and k.year = c.year
order by all

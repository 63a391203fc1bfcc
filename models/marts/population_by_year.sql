-- Population per municipality (area_code = '') and area and year: total and children 0–17.
-- is_final is false when any contributing row is carried forward or preliminary.
select
    municipality_code,
    case when grouping(area_code) = 1 then '' else area_code end as area_code,
    year,
    sum(population)::bigint as population,
    sum(case when age_band = '0-17' then population else 0 end)::bigint as population_0_17,
    bool_and(is_final) as is_final
from staging.stg_population
group by grouping sets ((municipality_code, area_code, year), (municipality_code, year))
order by all

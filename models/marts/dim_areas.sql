-- Areas with their municipality's name (dimension for labels and maps). A DeSO has no name of its own in SCB's
-- file: where the police export names it (Region Dalarna's "regsonamn", the RegSO name with a number), that name is
-- used, else the code.
with export_names as (
    select area_code, area_name
    from (select area_code, area_name, count(*) as n from staging.stg_crime_reports
          where area_name is not null and area_code is not null group by all)
    qualify row_number() over (partition by area_code order by n desc, area_name) = 1
)

select
    a.area_code,
    case when a.area_type = 'deso' then coalesce(e.area_name, a.area_name) else a.area_name end as area_name,
    a.municipality_code,
    m.municipality_name,
    a.area_type,
    a.area_class,
    a.parent_code,
    a.lat,
    a.lon,
    a.outline
from staging.stg_areas as a
left join ref.municipalities as m on m.municipality_code = a.municipality_code
left join export_names as e on e.area_code = a.area_code
order by a.area_code

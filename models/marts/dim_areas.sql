-- Areas with their municipality's name (dimension for labels and maps).
select
    a.area_code,
    a.area_name,
    a.municipality_code,
    m.municipality_name,
    a.area_type,
    a.lat,
    a.lon
from staging.stg_areas as a
left join ref.municipalities as m on m.municipality_code = a.municipality_code
order by a.area_code

-- Areas with their municipality's name (dimension for labels and maps). DeSO have no name of their own in SCB's
-- file (the code is the name); pages use the police export's name where there is one (marts.area_names_in_exports).
select
    a.area_code,
    a.area_name,
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
order by a.area_code

-- Areas (districts, DeSO, vulnerable areas) with names and centroids.
-- @materialized: view
with source as (
    select * from raw.areas
),

renamed as (
    select
        area_code,
        area_name,
        municipality_code,
        coalesce(area_type, 'kommundel') as area_type,
        nullif(parent_code, '') as parent_code,
        nullif(outline, '') as outline,
        area_class,
        lat,
        lon,
        _sha256 as source_sha256
    from source
)

select * from renamed

-- Polisen's events feed: the newest observed version of each event (older versions stay in raw as history).
-- @materialized: view
-- Municipality from the location, or from the last part of the name when the location is a county
-- (the feed changed on 2026-01-21). Not crime statistics: one event is not one reported crime.
with source as (
    select
        *,
        count(*) over (partition by event_id) as versions,
        row_number() over (partition by event_id order by version_at desc) as version_rank
    from raw.polisen_events
),

latest as (
    select * from source where version_rank = 1
),

renamed as (
    select
        event_id,
        version_at,
        published_at,
        name,
        summary,
        url,
        event_type,
        location_name,
        lat,
        lon,
        versions,
        trim(regexp_extract(name, ',\s*([^,]+)$', 1)) as place_in_name,
        _sha256 as source_sha256
    from latest
)

select
    r.*,
    coalesce(by_location.municipality_code, by_name.municipality_code) as municipality_code,
    case
        when by_location.municipality_code is not null then 'plats'
        when by_name.municipality_code is not null then 'rubrik'
        else 'saknas'
    end as municipality_basis,
    r.event_type = 'Sammanfattning natt' as is_summary
from renamed as r
left join ref.municipalities as by_location on by_location.municipality_name = r.location_name
left join ref.municipalities as by_name on by_name.municipality_name = r.place_in_name

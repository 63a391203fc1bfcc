-- EST events per place and quarter with the mean position, for hot-spot lists and maps.
select
    municipality_code,
    coalesce(area_code, '') as area_code,
    coalesce(place, 'Okänd plats') as place,
    year,
    quarter,
    count(*)::bigint as events,
    avg(lat) as lat,
    avg(lon) as lon
from staging.stg_est_events
group by all
order by all

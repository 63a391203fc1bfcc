-- EST events per place and quarter with the mean position, for hot-spot lists and maps.
-- @partitioned: municipality_code, year, quarter
select
    municipality_code,
    coalesce(area_code, '') as area_code,
    coalesce(place, 'Okänd plats') as place,
    year,
    quarter,
    quarter_seq,
    count(*)::bigint as events,
    round(avg(lat), 6) as lat,
    round(avg(lon), 6) as lon
from staging.stg_est_events
group by all
order by all

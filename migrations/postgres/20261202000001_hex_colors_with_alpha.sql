-- Category colours: also #RGBA and #RRGGBBAA, as the Go service's `hexcolor` rule accepted.
alter table categories drop constraint categories_color_check;
alter table categories add constraint categories_color_check
    check (color ~ '^#([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$');

// jumpclip enclosure: a waistband clip holding the ESP32 Feather, the GY-521 and a 500 mAh
// LiPo. Parametric: change the part sizes below. Render: openscad -o clip.stl clip.scad
// The sensor sits on a solid boss with two M2 screws: a rigid mount, because a loose or
// padded sensor rings after every landing and adds false peaks.

/* [Parts, mm] */
feather = [53, 23, 8];     // ESP32 Feather V2 (the Feather outline, 2.0 x 0.9 in) with headers trimmed, 2 mm to spare
sensor = [21, 16, 3];      // GY-521 board
sensor_holes = 15.2;       // its M2 hole spacing (along the long side)
battery = [36, 29, 5];     // 500 mAh LiPo pouch
/* [Case] */
wall = 1.8;
gap = 0.6;                 // clearance around parts
corner = 3;
clip_len = 45;             // belt clip tongue
clip_gap = 4;              // waistband thickness it grips
clip_thick = 2.2;
part = "both";             // "base", "lid" or "both"

inner = [max(feather[0], battery[0] + sensor[0] + 4) + 2 * gap,
         max(feather[1], battery[1], sensor[1]) + 2 * gap,
         feather[2] + battery[2] + 3];
outer = inner + [2 * wall, 2 * wall, wall];

module rounded(size, r) {
    linear_extrude(size[2])
        offset(r) offset(-r) square([size[0], size[1]]);
}

module base() {
    difference() {
        rounded(outer, corner);
        translate([wall, wall, wall]) rounded([inner[0], inner[1], inner[2] + 1], corner - wall / 2);
        // USB port opening at one end
        translate([-1, outer[1] / 2 - 6, wall + battery[2] + 1]) cube([wall + 2, 12, 7]);
    }
    // battery pocket rim
    translate([wall + gap, wall + gap, wall]) difference() {
        cube([battery[0] + 1, battery[1] + 1, 1.5]);
        translate([0.8, 0.8, -0.1]) cube([battery[0] - 0.6, battery[1] - 0.6, 2]);
    }
    // rigid sensor boss with two M2 pilot holes (heat-set inserts)
    translate([outer[0] - wall - gap - sensor[0], wall + gap, wall]) difference() {
        cube([sensor[0], sensor[1], battery[2]]);
        for (dx = [(sensor[0] - sensor_holes) / 2, (sensor[0] + sensor_holes) / 2])
            translate([dx, sensor[1] / 2, -1]) cylinder(d = 3.2, h = battery[2] + 2, $fn = 24);
    }
    // belt clip on the back: a tongue joined at the top, open at the bottom
    translate([outer[0] / 2 - 10, -clip_gap - clip_thick, 0]) {
        cube([20, clip_thick, clip_len]);
        translate([0, 0, clip_len - 4]) cube([20, clip_gap + clip_thick, 4]);
        translate([10, 0, 3]) rotate([90, 0, 0]) cylinder(d = 3, h = 1, $fn = 16);  // grip bump
    }
}

module lid() {
    difference() {
        rounded([outer[0], outer[1], wall], corner);
        translate([outer[0] - 12, outer[1] / 2, -1]) cylinder(d = 6.5, h = wall + 2, $fn = 32);  // button
        translate([12, outer[1] / 2, -1]) cylinder(d = 2, h = wall + 2, $fn = 16);  // LED light pipe
    }
    translate([wall + 0.2, wall + 0.2, wall]) difference() {  // locating lip
        rounded([inner[0] - 0.4, inner[1] - 0.4, 2], corner - wall / 2);
        translate([1.2, 1.2, -1]) rounded([inner[0] - 2.8, inner[1] - 2.8, 4], corner - wall);
    }
}

if (part == "base" || part == "both") base();
if (part == "lid" || part == "both") translate([0, outer[1] + 10, 0]) lid();

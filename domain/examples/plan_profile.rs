//! Plans a generated 20k-row file once; for profilers
//! (`valgrind --tool=callgrind target/release/examples/plan_profile`).

use domain::Options;
use domain::plan::{NoUsers, plan};

fn main() {
    let mut s = String::from(
        "email,first_name,last_name,display_name,phone,mobile,employee_number,title,department,organization\n",
    );
    for i in 0..20_000 {
        s.push_str(&format!(
            "user{i}@example.com,First{i},Last{i},,+41 44 {i:06},,E{i},Engineer,Dept {},Example Ltd\n",
            i % 50
        ));
    }
    let p = plan(s.as_bytes(), &NoUsers, &Options::default()).expect("plans");
    println!("{:?}", p.counts);
}

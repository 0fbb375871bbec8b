//! What every controller family shares at run time: the slim watch caches of what the
//! controllers made and the one routine that converges them ([`converge`]), and the families of
//! one leadership term, started and stopped together ([`running`]).

pub mod converge;
pub mod running;

